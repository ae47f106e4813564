"""Search: `GET /api/v2/search` (accounts, statuses, hashtags) and `GET /api/v1/accounts/search` (accounts).

Accounts: an exact local address (`user`, `@user`, `user@our.domain`, or the profile URL `{base}/@user`,
`{base}/users/user`) resolves first through core's `account_by_username`; other words match usernames and
display names by prefix through the search module (followed accounts first). Remote addresses find nothing
(we do not resolve over WebFinger yet): an empty result, never a 404. Hashtags match by prefix (the search
module), rendered with the trends module's history. Statuses are full-text within what the caller may search
(own, mentioned, favourited, bookmarked), so anonymous callers find none.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api import render
from api.config import CLIENT, CONFIG, Route
from api.entities import search_results, tag
from api.errors import unauthorized
from api.params import Params, read_params
from api.responses import json_response
from api.scopes import optional
from modules.core.records import USERNAME

CORE, RELATIONSHIPS, SEARCH, TRENDS = "core", "relationships", "search", "trends"
KINDS = ("accounts", "statuses", "hashtags")
MAX_OFFSET = 10_000
MAX_QUERY = 500


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search request, parsed: what, which kinds, how many, and for whom."""

    q: str
    kinds: frozenset[str]
    limit: int
    offset: int
    resolve: bool
    following: bool
    viewer: int | None


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v2/search", search),
        ("GET", "/api/v1/accounts/search", search_accounts),
    ]


async def search(request: web.Request) -> web.Response:
    """GET /api/v2/search?q=&type=&limit=&offset=&resolve=&following=."""
    caller = await optional(request, "read:search")
    query = parse_query(await read_params(request), None if caller is None else caller.account, 20, 40)
    accounts = await render.accounts(request, await find_accounts(request, query))
    statuses = await render.statuses(request, query.viewer, await find_statuses(request, query))
    return json_response(search_results(accounts, statuses, await find_hashtags(request, query)))


async def search_accounts(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/search?q=&limit=&offset=&resolve=&following=: matching Accounts."""
    caller = await optional(request, "read:accounts")
    params = await read_params(request)
    query = parse_query(params, None if caller is None else caller.account, 40, 80, kinds=frozenset({"accounts"}))
    return json_response(await render.accounts(request, await find_accounts(request, query)))


def parse_query(
    params: Params, viewer: int | None, default_limit: int, max_limit: int, kinds: frozenset[str] | None = None
) -> SearchQuery:
    """Return the search parameters; 401 for what Mastodon refuses to anonymous callers."""
    kind = params.string("type", most=20)
    query = SearchQuery(
        q=params.required("q", most=MAX_QUERY).strip(),
        kinds=kinds or (frozenset(KINDS) if not kind else frozenset({kind}) & frozenset(KINDS)),
        limit=params.integer("limit", default_limit, 1, max_limit),
        offset=params.integer("offset", 0, 0, MAX_OFFSET) if kind or kinds else 0,  # Mastodon: only with a type
        resolve=params.boolean("resolve"),
        following=params.boolean("following"),
        viewer=viewer,
    )
    if viewer is None and query.resolve:
        raise unauthorized("Search queries that resolve remote resources are not supported without authentication")
    if viewer is None and query.offset:
        raise unauthorized("Search queries pagination is not supported without authentication")
    return query


async def find_accounts(request: web.Request, query: SearchQuery) -> list[int]:
    """Return the ids of the accounts `query` finds: its exact local address first, then prefix matches."""
    if "accounts" not in query.kinds or _remote_address(query.q, request.app[CONFIG].domain):
        return []
    client = request.app[CLIENT]
    exact: int | None = None
    username = local_username(query.q, request.app[CONFIG].base_url, request.app[CONFIG].domain)
    if username is not None:
        exact = await client.query(CORE, "account_by_username", username)
    # Ask for one more than the page so the exact match can lead without shortening it.
    wanted = query.offset + query.limit + 1
    matched: list[int] = (
        [] if _is_url(query.q) else await client.query(SEARCH, "accounts", query.q, query.viewer, wanted)
    )
    found = ([exact] if exact is not None else []) + [a for a in matched if a != exact]
    if query.following:
        followed = await asyncio.gather(*(_follows(request, query.viewer, a) for a in found))
        found = [a for a, yes in zip(found, followed, strict=True) if yes]
    return found[query.offset : query.offset + query.limit]


async def find_statuses(request: web.Request, query: SearchQuery) -> list[int]:
    """Return the ids of the statuses the caller may search that hold every word of `query`."""
    if "statuses" not in query.kinds or query.viewer is None or _is_url(query.q):
        return []
    found: list[int] = await request.app[CLIENT].query(
        SEARCH, "statuses", query.viewer, query.q, query.limit, query.offset
    )
    return found


async def find_hashtags(request: web.Request, query: SearchQuery) -> list[dict[str, object]]:
    """Return the Tags whose names start with `query` (exact first), each with its usage history."""
    if "hashtags" not in query.kinds or _is_url(query.q) or "@" in query.q or " " in query.q.strip():
        return []
    client = request.app[CLIENT]
    names: list[str] = await client.query(SEARCH, "hashtags", query.q, query.limit, query.offset)
    found: list[dict[str, Any]] = await asyncio.gather(*(client.query(TRENDS, "tag", name) for name in names))
    return [tag(request.app[CONFIG], entry) for entry in found]


def local_username(q: str, base_url: str, domain: str) -> str | None:
    """Return the username an exact local address or profile URL names, else None."""
    for prefix in (f"{base_url}/@", f"{base_url}/users/"):
        if q.startswith(prefix):
            q = q[len(prefix) :]
            break
    username, _, host = q.lstrip("@").partition("@")
    if host and host.lower() != domain.lower():
        return None
    return username if USERNAME.fullmatch(username) else None


async def _follows(request: web.Request, viewer: int | None, account: int) -> bool:
    if viewer is None:
        return False  # nobody is followed by an anonymous caller
    return bool(await request.app[CLIENT].pstate(RELATIONSHIPS, "$$following").contains(viewer, account))


def _is_url(q: str) -> bool:
    return q.startswith(("http://", "https://"))


def _remote_address(q: str, domain: str) -> bool:
    """Return whether `q` is `user@host` (or a URL) naming another server: we cannot resolve those."""
    if _is_url(q):
        return False  # a local profile URL resolves exactly; other URLs match nothing by prefix
    _, at, host = q.lstrip("@").partition("@")
    return bool(at) and host.lower() != domain.lower()
