"""The auth module launched alone on an in-process cluster with a fake clock."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.auth import Auth
from modules.auth.passwords import ScryptCost
from tests.runtimes import new_cluster

AUTH = "auth"
CHEAP = ScryptCost(n=2**4)


@asynccontextmanager
async def launched(path: Path, store_kind: str) -> AsyncIterator[InProcessCluster]:
    """Yield a cluster running the auth module on `store_kind` storage, on the test's runtime."""
    async with new_cluster(path, store=store_kind, clock=FakeClock()) as cluster:
        await cluster.launch(Auth(), tasks=4)
        yield cluster


def digest(text: str) -> str:
    """SHA-256 hex, as the API stores secrets."""
    return hashlib.sha256(text.encode()).hexdigest()
