"""Helpers for the notifications tests: launch relationships, core and notifications; act; read notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.core import Core
from modules.moderation import Moderation
from modules.notifications import Notifications
from modules.relationships import Relationships
from tests.runtimes import new_cluster

MODULE = "notifications"


@asynccontextmanager
async def launched(
    path: Path,
    store_kind: str,
    clock: FakeClock | None = None,
    notifications: Notifications | None = None,
    depots_of: Path | None = None,
) -> AsyncIterator[InProcessCluster]:
    """Yield a cluster on the active runtime running relationships, core, moderation, then notifications (4 tasks).

    With `depots_of` (a replay), notifications is launched only once relationships and core are idle: on the
    memory store they rebuild their PStates from their depots, and notifications reads those PStates as it
    replays (who asked to be notified of an author's posts, blocks, mutes), so it must not run ahead of them.
    """
    async with new_cluster(path, store=store_kind, clock=clock or FakeClock(), depots_of=depots_of) as cluster:
        await cluster.launch(Relationships(), tasks=4)
        await cluster.launch(Core(), tasks=4)
        await cluster.launch(Moderation(), tasks=4)
        if depots_of is not None:
            await cluster.controls.wait_idle()
        await cluster.launch(notifications or Notifications(), tasks=4)
        yield cluster


async def received(cluster: InProcessCluster, account: int, **query: Any) -> list[dict[str, Any]]:
    """Wait until every topology is idle, then return a page of `account`'s notifications."""
    await cluster.controls.wait_idle()
    found: list[dict[str, Any]] = await cluster.query(MODULE, "notifications", account, **query)
    return found


async def kinds(cluster: InProcessCluster, account: int, **query: Any) -> list[tuple[str, int, int | None]]:
    """`account`'s notifications as (type, actor, status), newest first."""
    return [(n["type"], n["account"], n["status"]) for n in await received(cluster, account, **query)]


async def op(cluster: InProcessCluster, record: dict[str, Any]) -> Any:
    """Append a `*notification_ops` record and return the topology's answer."""
    return (await cluster.append(MODULE, "*notification_ops", record)).value
