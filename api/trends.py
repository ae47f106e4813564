"""Trends: `GET /api/v1/trends/tags`, `/trends/statuses`, `/trends/links` (and `/api/v1/trends`, an alias).

Scores come from the trends module (Mastodon's Trends::Tags, decayed at read time). Open without a token;
`offset` / `limit` page them, with `Link` headers whose `next` moves the offset on, as Mastodon does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import entities, render
from api.config import CLIENT, CONFIG, Route
from api.pagination import offset_paged
from api.params import Params, read_params
from api.scopes import optional
from api.timeline_pages import viewable
from modules.core.ids import parse

TRENDS = "trends"
MAX_OFFSET = 10_000


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/trends", tags),  # the 3.x path, still answered by Mastodon 4.3
        ("GET", "/api/v1/trends/tags", tags),
        ("GET", "/api/v1/trends/statuses", statuses),
        ("GET", "/api/v1/trends/links", links),
    ]


async def tags(request: web.Request) -> web.Response:
    """GET /api/v1/trends/tags: trending hashtags with their history (limit 10, at most 20)."""
    await optional(request)
    offset, limit = _window(await read_params(request), 10, 20)
    found = await _trending(request, "tag", offset, limit)
    config = request.app[CONFIG]
    return offset_paged(request, [entities.tag(config, t) for t in found], offset, limit)


async def statuses(request: web.Request) -> web.Response:
    """GET /api/v1/trends/statuses: boosted and favourited public statuses (limit 20, at most 40)."""
    caller = await optional(request, "read:statuses")
    offset, limit = _window(await read_params(request), 20, 40)
    found = await _trending(request, "status", offset, limit)
    viewer = caller.account if caller else None
    rendered = await render.statuses(request, viewer, [parse(t["key"]) for t in found if t["key"].isdigit()])
    shown = await viewable(request, viewer, [s for s in rendered if s["visibility"] == "public"])
    return offset_paged(request, shown, offset, limit, full=len(found) == limit)


async def links(request: web.Request) -> web.Response:
    """GET /api/v1/trends/links: links shared in public statuses, as preview cards (limit 10, at most 20)."""
    await optional(request)
    offset, limit = _window(await read_params(request), 10, 20)
    found = await _trending(request, "link", offset, limit)
    return offset_paged(request, [entities.trends_link(t) for t in found], offset, limit)


async def _trending(request: web.Request, kind: str, offset: int, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await request.app[CLIENT].query(TRENDS, "trending", kind, limit, offset)
    return found


def _window(params: Params, default: int, most: int) -> tuple[int, int]:
    return params.integer("offset", 0, 0, MAX_OFFSET), params.integer("limit", default, 1, most)
