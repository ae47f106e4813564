"""Timelines: `GET /api/v1/timelines/home`, `/list/:id`, `/public` and `/tag/:hashtag`.

Public and hashtag timelines are open without a token (Mastodon's default); a token given must grant
`read:statuses`, and its account's blocks and mutes hide authors. Paging bounds go to the modules, which
range-read them; see `timeline_pages` for what is filtered after hydration.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.errors import not_found
from api.lookups import path_id
from api.oauth import require_user
from api.pagination import Page, page_params, paged
from api.params import read_params
from api.scopes import optional
from api.timeline_pages import TagQuery, loader, merge, walk

CORE, GLOBAL, TRENDS = "core", "global_timelines", "trends"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/timelines/home", home),
        ("GET", "/api/v1/timelines/list/{id}", list_timeline),
        ("GET", "/api/v1/timelines/public", public),
        ("GET", "/api/v1/timelines/tag/{hashtag}", tag),
    ]


async def home(request: web.Request) -> web.Response:
    """GET /api/v1/timelines/home: the caller's home timeline, newest first, paged by id."""
    account = await require_user(request, "read:statuses")
    page = page_params(await read_params(request))
    client = request.app[CLIENT]

    ids: list[int] = await client.query(
        CORE, "home_timeline", account, page.max_id, page.limit, since_id=page.since_id, min_id=page.min_id
    )
    return await paged(request, await render.statuses(request, account, ids, "home"), page.full(ids))


async def list_timeline(request: web.Request) -> web.Response:
    """GET /api/v1/timelines/list/:id: statuses of the caller's list, newest first; 404 for another's list."""
    account = await require_user(request, "read:lists")
    page = page_params(await read_params(request))
    bounds = {"since_id": page.since_id, "min_id": page.min_id}
    ids: list[int] | None = await request.app[CLIENT].query(
        CORE, "list_timeline", account, path_id(request), page.max_id, page.limit, **bounds
    )
    if ids is None:
        raise not_found()
    return await paged(request, await render.statuses(request, account, ids, "home"), page.full(ids))


async def public(request: web.Request) -> web.Response:
    """GET /api/v1/timelines/public: public statuses, newest first (`local`, `remote`, `only_media`)."""
    caller = await optional(request, "read:statuses")
    params = await read_params(request)
    page = page_params(params)
    scope = public_scope(params.boolean("local"), params.boolean("remote"))
    only_media = params.boolean("only_media")
    client = request.app[CLIENT]

    async def fetch(chunk: Page) -> list[int]:
        ids: list[int] = await client.query(
            GLOBAL, "public_timeline", scope, chunk.max_id, chunk.since_id, chunk.min_id, chunk.limit, only_media
        )
        return ids

    viewer = caller.account if caller else None
    return await paged(request, await walk(fetch, loader(request, viewer), page))


async def tag(request: web.Request) -> web.Response:
    """GET /api/v1/timelines/tag/:hashtag: public statuses with the tag or `any[]`, all of `all[]`, none of `none[]`."""
    caller = await optional(request, "read:statuses")
    params = await read_params(request)
    page = page_params(params)
    query = TagQuery.parse(request.match_info["hashtag"], params)
    client = request.app[CLIENT]

    async def fetch(chunk: Page) -> list[int]:
        bounds = (chunk.max_id, chunk.since_id, chunk.min_id, chunk.limit, query.local)
        parts = await asyncio.gather(*(client.query(TRENDS, "tag_timeline", name, *bounds) for name in query.tags))
        return merge(list(parts), chunk)

    viewer = caller.account if caller else None
    return await paged(request, await walk(fetch, loader(request, viewer, query.keeps), page))


def public_scope(local: bool, remote: bool) -> str:
    """Return the global timeline to read: both flags or neither mean the federated one, as in Mastodon."""
    if local and not remote:
        return "local"
    if remote and not local:
        return "remote"
    return "federated"
