"""The profile directory: `GET /api/v1/directory` (`order=active|new`, `local`, `offset`, `limit`).

Open without a token, as Mastodon's. The search module keeps the directory's order (last status, or
registration); accounts render as everywhere else.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.entities import Entity
from api.errors import unprocessable
from api.params import read_params
from api.responses import json_response
from api.scopes import optional

SEARCH = "search"
ORDERS = ("active", "new")
MAX_OFFSET = 10_000


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/directory", index)]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/directory: accounts, most recently active (or newest) first (limit 40, at most 80)."""
    await optional(request)
    params = await read_params(request)
    order = params.string("order", most=20) or "active"
    if order not in ORDERS:
        raise unprocessable(f"order must be one of {', '.join(ORDERS)}")
    offset = params.integer("offset", 0, 0, MAX_OFFSET)
    limit = params.integer("limit", 40, 1, 80)
    local = params.boolean("local")
    ids: list[int] = await request.app[CLIENT].query(SEARCH, "directory", order, local, limit, offset)
    found = await asyncio.gather(*(render.account(request, account_id) for account_id in ids))
    accounts: list[Entity] = [a for a in found if a is not None]
    return json_response(accounts)
