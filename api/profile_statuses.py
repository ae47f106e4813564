"""An account's statuses (`GET /api/v1/accounts/:id/statuses`) with Mastodon's filters.

`pinned=true` lists the pins (latest pin first). Otherwise the author's statuses newest first, paged by
id, without replies to others (`exclude_replies`; a reply to oneself, a thread, stays), without boosts
(`exclude_reblogs`), only those with media (`only_media`) or with a hashtag (`tagged`). What the caller
may see is decided by hydration: followers see private statuses, mentioned accounts direct ones.
Filters read the delivery fields core keeps per authored status, a chunk at a time, and each chunk is
hydrated, walking down (or, for `min_id`, up) until the page is full or `MAX_WALK` chunks were read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from api import render
from api.config import CLIENT
from api.entities import Entity
from api.lookups import existing
from api.pagination import page_params, paged
from api.params import Params, read_params
from api.responses import json_response
from api.scopes import optional
from modules.core.text import normalize_tag

CORE = "core"
CHUNK = 40
MAX_WALK = 20
Keep = Callable[[dict[str, Any]], bool]


async def statuses(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/statuses: the account's statuses the caller may see, newest first."""
    caller = await optional(request, "read:statuses")
    viewer = None if caller is None else caller.account
    author = await existing(request)
    params = await read_params(request)
    if params.boolean("pinned"):
        pinned = await request.app[CLIENT].query(CORE, "pinned", author)
        return json_response(await render.statuses(request, viewer, pinned, "account"))
    return await paged(request, await walk(request, viewer, author, params))


def keeper(params: Params, author: int) -> Keep:
    """Return the test an authored status' delivery fields must pass to be listed."""
    exclude_replies, exclude_reblogs = params.boolean("exclude_replies"), params.boolean("exclude_reblogs")
    only_media = params.boolean("only_media")
    tagged = params.string("tagged", most=100)
    tag = None if not tagged else normalize_tag(tagged)

    def keep(delivery: dict[str, Any]) -> bool:
        if exclude_replies and delivery.get("reply_to") not in (None, author):
            return False
        if (exclude_reblogs or only_media) and delivery.get("reblog_of") is not None:
            return False
        return tag is None or tag in delivery.get("tags", [])

    return keep


async def walk(request: web.Request, viewer: int | None, author: int, params: Params) -> list[Entity]:
    """Return a page of `author`'s statuses that pass the filters and `viewer` may see, newest first."""
    page = page_params(params)
    keep, only_media = keeper(params, author), params.boolean("only_media")
    view = request.app[CLIENT].pstate(CORE, "$$author_statuses")
    upwards = page.min_id is not None  # the page just above min_id: read upwards, answer newest first
    low = max(page.since_id or 0, page.min_id or 0)
    start, end = (low + 1 if low else None), page.max_id
    found: list[Entity] = []
    for _ in range(MAX_WALK):
        rows = await view.range(author, start, end, reverse=not upwards, limit=CHUNK)
        shown = await render.statuses(request, viewer, [int(i) for i, delivery in rows if keep(delivery)], "account")
        found += [s for s in shown if s["media_attachments"] or not only_media]
        if len(rows) < CHUNK or len(found) >= page.limit:
            break
        start, end = (int(rows[-1][0]) + 1, end) if upwards else (start, int(rows[-1][0]))
    return found[: page.limit][::-1] if upwards else found[: page.limit]
