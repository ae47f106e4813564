"""The real app with its media store in a temp dir (or S3), a user token, and multipart uploads."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.config import ApiConfig, MediaLimits
from cluster.inprocess import InProcessCluster
from cluster.serve import launch
from cluster.testing import FakeClock
from tests.api.support import CHEAP, app_token, bearer, make_app, signup

# Core's media metadata (`*media`, the `media` query) is another branch's work; until it is merged the
# tests that need it say so instead of running against a stand-in (api/media_catalog.py has the contract).
CORE_HAS_MEDIA = importlib.util.find_spec("modules.core.media") is not None
needs_core_media = pytest.mark.skipif(not CORE_HAS_MEDIA, reason="core has no *media depot yet (modules/core/media.py)")


@asynccontextmanager
async def served_media(
    path: Path, *, store: str | None = None, limits: MediaLimits | None = None
) -> AsyncIterator[tuple[TestClient[Any, Any], ApiConfig]]:
    """Yield an HTTP client of the API (media in `path/media` unless `store` says otherwise) and its config."""
    config = dataclasses.replace(CHEAP, media_store=store or f"file://{path / 'media'}")
    config = dataclasses.replace(config, media_limits=limits or MediaLimits())
    async with InProcessCluster(path / "cluster", store="memory", clock=FakeClock()) as cluster:
        await launch(cluster)
        async with TestClient(TestServer(build_app(cluster, config), host="127.0.0.1")) as client:
            yield client, config


async def user_token(client: TestClient[Any, Any], username: str = "alice", scope: str = "read write follow") -> str:
    """Register `username` and return a password-grant token with `scope`."""
    app = await make_app(client)
    await signup(client, await app_token(client, app), username)
    form = {"grant_type": "password", "username": username, "password": f"{username}-pass", "scope": scope}
    form |= {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    response = await client.post("/oauth/token", data=form)
    assert response.status == 200, await response.text()
    return str((await response.json())["access_token"])


def upload_form(
    data: bytes, *, filename: str = "picture.png", declared: str = "image/png", **fields: str
) -> aiohttp.FormData:
    """Return a multipart body with `file` (named and typed as the client claims) and text fields."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type=declared)
    for name, value in fields.items():
        form.add_field(name, value)
    return form


async def upload(
    client: TestClient[Any, Any], token: str, data: bytes, *, version: int = 2, **fields: str
) -> tuple[int, dict[str, Any]]:
    """POST a file to /api/v{version}/media; return the status and the JSON body."""
    response = await client.post(f"/api/v{version}/media", data=upload_form(data, **fields), headers=bearer(token))
    body: dict[str, Any] = await response.json()
    return response.status, body
