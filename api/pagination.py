"""Mastodon's id pagination: `max_id`, `since_id`, `min_id`, `limit`, and absolute `Link` headers.

A page is newest first. `max_id` is an exclusive upper bound, `since_id` an exclusive lower bound (the
newest page above it), `min_id` an exclusive lower bound too but the page *just above* it (the way to
page backwards). Sources that only page downwards (`fetch(max_id, limit)`) get `since_id` and `min_id` by
walking down from the top: `collect` does that, bounded by `MAX_WALK` pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from api.entities import Entity
from api.errors import unprocessable
from api.params import Params
from api.responses import json_response
from modules.core.ids import parse

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
MAX_WALK = 20
Fetch = Callable[[int | None, int], Awaitable[list[int]]]


@dataclass(frozen=True, slots=True)
class Page:
    """The paging parameters of one request."""

    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    def filter(self, ids: list[int]) -> list[int]:
        """Drop ids at or below the lower bounds."""
        low = max(self.since_id or 0, self.min_id or 0)
        return [i for i in ids if i > low]


def page_params(params: Params) -> Page:
    """Return the paging parameters (ids that are not numbers are a 422)."""
    return Page(
        _cursor(params, "max_id"),
        _cursor(params, "since_id"),
        _cursor(params, "min_id"),
        params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
    )


async def collect(fetch: Fetch, page: Page) -> list[int]:
    """Return the page's ids, newest first, from a source that pages downwards only."""
    low = max(page.since_id or 0, page.min_id or 0)
    if not low:
        return await fetch(page.max_id, page.limit)
    above: list[int] = []
    cursor = page.max_id
    for _ in range(MAX_WALK):
        ids = await fetch(cursor, MAX_LIMIT)
        above += [i for i in ids if i > low]
        if len(ids) < MAX_LIMIT or ids[-1] <= low or (page.min_id is None and len(above) >= page.limit):
            break
        cursor = ids[-1]
    return above[-page.limit :] if page.min_id is not None else above[: page.limit]


async def paged(request: web.Request, items: list[Entity]) -> web.Response:
    """Return `items` (newest first) with `Link` next / prev headers that keep the other query parameters."""
    headers = {}
    if items:
        newer = _link(request, "min_id", items[0]["id"], "prev")
        older = _link(request, "max_id", items[-1]["id"], "next")
        headers["Link"] = f"{older}, {newer}"
    return json_response(items, headers=headers)


def offset_paged(
    request: web.Request, items: list[Entity], offset: int, limit: int, *, full: bool | None = None
) -> web.Response:
    """Return `items` of an offset-paged list with `Link` headers: `next` past them, `prev` back a page.

    `full` says whether the source filled the page (default: whether `items` did), i.e. whether to link on.
    """
    links = []
    if (len(items) >= limit) if full is None else full:
        links.append(_offset_link(request, offset + limit, "next"))
    if offset > 0:
        links.append(_offset_link(request, max(0, offset - limit), "prev"))
    return json_response(items, headers={"Link": ", ".join(links)} if links else None)


def _offset_link(request: web.Request, offset: int, rel: str) -> str:
    query = [(k, v) for k, v in request.query.items() if k != "offset"]
    return f'<{request.url.with_query([*query, ("offset", str(offset))])}>; rel="{rel}"'


def _link(request: web.Request, cursor: str, value: str, rel: str) -> str:
    query = [(k, v) for k, v in request.query.items() if k not in ("max_id", "since_id", "min_id")]
    url = request.url.with_query([*query, (cursor, value)])
    return f'<{url}>; rel="{rel}"'


def _cursor(params: Params, name: str) -> int | None:
    text = params.string(name, most=20)
    if not text:
        return None
    if not text.isdigit():
        raise unprocessable(f"{name} must be an id")
    return parse(text)
