"""The caller's saved statuses: `GET /api/v1/favourites` and `GET /api/v1/bookmarks`, newest addition first.

Paged like Mastodon by the favourite's or bookmark's own id (when it was saved, not when the status was
written), which only the `Link` header carries (`api.cursor_pages`).
"""

from __future__ import annotations

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.cursor_pages import cursor_page
from api.oauth import require_user
from api.pagination import page_params
from api.params import read_params

CORE = "core"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/favourites", favourites),
        ("GET", "/api/v1/bookmarks", bookmarks),
    ]


async def favourites(request: web.Request) -> web.Response:
    """GET /api/v1/favourites: the statuses the caller favourited."""
    return await saved(request, await require_user(request, "read:favourites"), "favourites")


async def bookmarks(request: web.Request) -> web.Response:
    """GET /api/v1/bookmarks: the statuses the caller bookmarked."""
    return await saved(request, await require_user(request, "read:bookmarks"), "bookmarks")


async def saved(request: web.Request, account: int, query: str) -> web.Response:
    """Answer with a page of core's `query` list of `account`: Statuses, cursors in the `Link` header."""
    page = page_params(await read_params(request))
    cursor = (page.max_id, page.since_id, page.min_id, page.limit)
    rows = await request.app[CLIENT].query(CORE, query, account, *cursor)
    statuses = await render.statuses(request, account, [status_id for _, status_id in rows])
    return cursor_page(request, statuses, [entry for entry, _ in rows])
