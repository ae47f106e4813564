"""Reads about one status: its context (thread), edit history, source, who boosted and who favourited it.

Each first needs the status visible to the caller (404 otherwise, as Mastodon's `show?` policy). Thread
bounds follow Mastodon: a signed-out reader gets at most 40 ancestors and 60 descendants 20 levels deep,
a signed-in one up to 4,096 of each at any depth.
"""

from __future__ import annotations

from aiohttp import web

from api import render, status_entities
from api.config import CLIENT, CONFIG, Route
from api.cursor_pages import cursor_page
from api.errors import not_found
from api.lookups import path_id
from api.oauth import require_user
from api.pagination import page_params
from api.params import read_params
from api.responses import json_response
from api.statuses import status_or_404, viewer_of
from modules.core.ids import render as render_id

CORE = "core"
SIGNED_OUT_BOUNDS = (40, 60, 20)  # ancestors, descendants, depth
SIGNED_IN_BOUNDS = (4_096, 4_096, 4_096)
DEFAULT_ACCOUNTS, MAX_ACCOUNTS = 40, 80


def routes() -> list[Route]:
    """The routes of this resource."""
    prefix = "/api/v1/statuses/{id}"
    return [
        ("GET", f"{prefix}/context", context),
        ("GET", f"{prefix}/history", history),
        ("GET", f"{prefix}/source", source),
        ("GET", f"{prefix}/reblogged_by", reblogged_by),
        ("GET", f"{prefix}/favourited_by", favourited_by),
    ]


async def context(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id/context: ancestors (oldest first) and descendants (depth first)."""
    viewer = await viewer_of(request)
    status_id = path_id(request)
    bounds = SIGNED_OUT_BOUNDS if viewer is None else SIGNED_IN_BOUNDS
    found = await request.app[CLIENT].query(CORE, "context", viewer, status_id, *bounds)
    if found is None:
        raise not_found()
    ancestors, descendants = found["ancestors"], found["descendants"]
    rendered = await render.statuses(request, viewer, ancestors + descendants, "thread")
    by_id = {int(s["id"]): s for s in rendered}
    return json_response(
        {
            "ancestors": [by_id[i] for i in ancestors if i in by_id],
            "descendants": [by_id[i] for i in descendants if i in by_id],
        }
    )


async def history(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id/history: every revision, oldest first (one if it was never edited)."""
    viewer = await viewer_of(request)
    status = await status_or_404(request, viewer, path_id(request))
    revisions = await request.app[CLIENT].query(CORE, "status_history", int(status["id"]))
    if revisions is None:
        raise not_found()
    media = await render.media(request, viewer, sorted({m for r in revisions for m in r["media"]}))
    base_url = request.app[CONFIG].base_url
    return json_response([status_entities.status_edit(r, status["account"], media, base_url) for r in revisions])


async def source(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id/source: the plain text and spoiler text, for the edit form."""
    viewer = await require_user(request, "read:statuses")
    status = await status_or_404(request, viewer, path_id(request))
    found = await request.app[CLIENT].query(CORE, "status_source", int(status["id"]))
    if found is None:
        raise not_found()
    return json_response({"id": render_id(found["id"]), "text": found["text"], "spoiler_text": found["spoiler_text"]})


async def reblogged_by(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id/reblogged_by: who boosted it, newest first, paged by the boosts' ids."""
    status_id = await visible_status(request)
    params = await read_params(request)
    page, limit = page_params(params), params.integer("limit", DEFAULT_ACCOUNTS, 1, MAX_ACCOUNTS)
    rows = await request.app[CLIENT].query(
        CORE, "reblogged_by", status_id, page.max_id, limit, page.since_id, page.min_id
    )
    return cursor_page(request, await render.accounts(request, [a for _, a in rows]), [c for c, _ in rows])


async def favourited_by(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id/favourited_by: who favourited it, newest first, paged by the favourites' ids."""
    status_id = await visible_status(request)
    params = await read_params(request)
    page, limit = page_params(params), params.integer("limit", DEFAULT_ACCOUNTS, 1, MAX_ACCOUNTS)
    rows = await request.app[CLIENT].query(
        CORE, "favourited_by", status_id, page.max_id, limit, page.since_id, page.min_id
    )
    return cursor_page(request, await render.accounts(request, [a for _, a in rows]), [c for c, _ in rows])


async def visible_status(request: web.Request) -> int:
    """Return the status id in the path if the caller may see it; 404 otherwise."""
    viewer = await viewer_of(request)
    return int((await status_or_404(request, viewer, path_id(request)))["id"])
