"""Timelines: `GET /api/v1/timelines/home`."""

from __future__ import annotations

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.oauth import require_user
from api.pagination import page_params, paged
from api.params import read_params

CORE = "core"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/timelines/home", home)]


async def home(request: web.Request) -> web.Response:
    """GET /api/v1/timelines/home: the caller's home timeline, newest first, paged by id."""
    account = await require_user(request, "read:statuses")
    page = page_params(await read_params(request))
    client = request.app[CLIENT]

    ids: list[int] = await client.query(
        CORE, "home_timeline", account, page.max_id, page.limit, since_id=page.since_id, min_id=page.min_id
    )
    return await paged(request, await render.statuses(request, account, ids), page.full(ids))
