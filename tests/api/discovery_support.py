"""Helpers of the timelines / trends / featured tags tests: users with tokens, posting, following `Link`s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from cluster.inprocess import InProcessCluster
from tests.api.support import app_token, bearer, make_app, served, signup

Client = TestClient[Any, Any]


@asynccontextmanager
async def with_users(
    path: Path, *names: str
) -> AsyncIterator[tuple[Client, InProcessCluster, dict[str, str], dict[str, str]]]:
    """Yield the client, the cluster, a user token per name and the account id per name."""
    async with served(path) as (client, cluster):
        token = await app_token(client, await make_app(client))
        tokens = {name: await signup(client, token, name) for name in names}
        ids = {}
        for name in names:
            found = await (await client.get(f"/api/v1/accounts/lookup?acct={name}")).json()
            ids[name] = str(found["id"])
        yield client, cluster, tokens, ids


async def post(client: Client, token: str, text: str, **fields: str) -> str:
    """Post a status through the API and return its id."""
    response = await client.post("/api/v1/statuses", data={"status": text, **fields}, headers=bearer(token))
    assert response.status == 200, await response.text()
    return str((await response.json())["id"])


async def get_json(client: Client, path: str, token: str | None = None, status: int = 200) -> Any:
    """GET `path` (with `token` if given), check the status and return the decoded body."""
    response = await client.get(path, headers=bearer(token) if token else None)
    assert response.status == status, await response.text()
    return await response.json()


async def ids_at(client: Client, path: str, token: str | None = None) -> list[str]:
    """The ids of the statuses a timeline page holds."""
    return [s["id"] for s in await get_json(client, path, token)]


def links(header: str) -> dict[str, str]:
    """Parse a `Link` header into {rel: path (without scheme and host)}."""
    out = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        path = url.strip("<>").split("://", 1)[1]
        out[rel.removeprefix('rel="').rstrip('"')] = path[path.index("/") :]
    return out


def newest_first(*ids: str) -> list[str]:
    """Status ids in timeline order (ids posted in the same fake millisecond sort by task, not post order)."""
    return sorted(ids, key=int, reverse=True)
