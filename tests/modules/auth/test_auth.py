"""The auth module: apps, tokens (issue, revoke, idempotent) and credentials with the email index."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.auth import Auth
from modules.auth.passwords import ScryptCost, hash_password, verify_password
from tests.runtimes import Runtime, new_cluster
from topology.context import RecordRejected

AUTH = "auth"
CHEAP = ScryptCost(n=2**4)


@asynccontextmanager
async def launched(path: Path, store_kind: str) -> AsyncIterator[InProcessCluster]:
    async with new_cluster(path, store=store_kind, clock=FakeClock()) as cluster:
        await cluster.launch(Auth(), tasks=4)
        yield cluster


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(params=["rocksdb", "memory"])
def store_kind(request: pytest.FixtureRequest, runtime: Runtime) -> str:
    kind: str = request.param
    return kind


def test_apps_and_tokens(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            app = {"client_id": "c1", "secret_hash": digest("s"), "name": "toot", "redirect_uris": [], "scopes": []}
            assert (await cluster.append(AUTH, "*apps", {**app, "scopes": ["read"]})).value == "c1"
            await cluster.append(AUTH, "*apps", {**app, "name": "other"})  # a retry does not overwrite
            stored = await cluster.query(AUTH, "app", "c1")
            assert stored["name"] == "toot" and stored["scopes"] == ["read"]
            issue = {"op": "issue", "token_hash": digest("t"), "client_id": "c1", "account": 7, "scopes": ["read"]}
            await cluster.append(AUTH, "*tokens", issue)
            assert (await cluster.query(AUTH, "token", digest("t")))["account"] == 7
            await cluster.append(AUTH, "*tokens", {"op": "revoke", "token_hash": digest("t")})
            assert await cluster.query(AUTH, "token", digest("t")) is None
            for bad, message in [
                ({**issue, "token_hash": "plain-token"}, "SHA-256"),
                ({**issue, "account": -1}, "account"),
                ({"op": "steal", "token_hash": digest("t")}, "unknown op"),
            ]:
                with pytest.raises(RecordRejected, match=message):
                    await cluster.append(AUTH, "*tokens", bad)

    asyncio.run(scenario())


def test_credentials_and_email_index(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            password = hash_password("secret", CHEAP)
            await cluster.append(AUTH, "*credentials", {"account": 5, "email": "A@x.org", "password": password})
            await cluster.append(AUTH, "*credentials", {"account": 6, "email": "a@x.org", "password": password})
            assert await cluster.query(AUTH, "account_by_email", "a@x.org") == 5  # the first claim wins
            stored = await cluster.query(AUTH, "credentials", 5)
            assert stored["email"] == "a@x.org" and "secret" not in str(stored)
            assert verify_password("secret", stored["password"]) and not verify_password("guess", stored["password"])
            with pytest.raises(RecordRejected, match="scrypt"):
                await cluster.append(AUTH, "*credentials", {"account": 5, "email": "a@x.org", "password": "secret"})

    asyncio.run(scenario())
