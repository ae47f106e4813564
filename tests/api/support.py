"""The real app on 127.0.0.1 over a real InProcessCluster; helpers to get apps and tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.config import ApiConfig
from api.rate_limit_rules import OFF
from cluster.inprocess import InProcessCluster
from cluster.serve import launch
from cluster.testing import FakeClock
from modules.auth.passwords import ScryptCost

# Tests need no brute-force resistance, and make more requests from one address than a client would.
CHEAP = ApiConfig(password_cost=ScryptCost(n=2**4), rate_limits=OFF)


@asynccontextmanager
async def served(path: Path, config: ApiConfig = CHEAP) -> AsyncIterator[tuple[TestClient[Any, Any], InProcessCluster]]:
    """Yield an HTTP client of the API (configured by `config`) and the cluster behind it."""
    async with InProcessCluster(path, store="memory", clock=FakeClock()) as cluster:
        await launch(cluster)
        async with TestClient(TestServer(build_app(cluster, config), host="127.0.0.1")) as client:
            yield client, cluster


async def make_app(client: TestClient[Any, Any], scopes: str = "read write follow") -> dict[str, Any]:
    """Register an OAuth app and return it (with its secret)."""
    response = await client.post(
        "/api/v1/apps", json={"client_name": "test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes}
    )
    assert response.status == 200, await response.text()
    app: dict[str, Any] = await response.json()
    return app


async def app_token(client: TestClient[Any, Any], app: dict[str, Any], scope: str = "read write follow") -> str:
    """Return a client_credentials token of `app`."""
    form = {"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]}
    response = await client.post("/oauth/token", data={**form, "scope": scope})
    assert response.status == 200, await response.text()
    return str((await response.json())["access_token"])


async def signup(client: TestClient[Any, Any], token: str, username: str) -> str:
    """Register `username` through the API and return its user token."""
    body = {"username": username, "email": f"{username}@example.org", "password": f"{username}-pass", "agreement": True}
    response = await client.post("/api/v1/accounts", json=body, headers=bearer(token))
    assert response.status == 200, await response.text()
    return str((await response.json())["access_token"])


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}
