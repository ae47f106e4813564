"""Lists of accounts: an account's followers and follows, the caller's blocks and mutes.

Each is one relationships query paged like Mastodon (`max_id`, `since_id`, `min_id`, `limit` default 40,
at most 80, `Link` headers). The cursor is the listed account's id: the relationships module keeps these
collections ordered by it (Mastodon orders by when the row was made; a client following `Link` headers
sees the same thing either way: every account once, no overlap).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.entities import muted_account
from api.lookups import existing, now_ms
from api.pagination import Page, page_params, paged
from api.params import Params, read_params
from api.scopes import optional, require_user

RELATIONSHIPS = "relationships"
DEFAULT_LIMIT, MAX_LIMIT = 40, 80


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/accounts/{id}/followers", followers),
        ("GET", "/api/v1/accounts/{id}/following", following),
        ("GET", "/api/v1/blocks", blocks),
        ("GET", "/api/v1/mutes", mutes),
    ]


async def followers(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/followers."""
    await optional(request, "read:accounts")
    return await account_page(request, "followers", await existing(request))


async def following(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/following."""
    await optional(request, "read:accounts")
    return await account_page(request, "following", await existing(request))


async def blocks(request: web.Request) -> web.Response:
    """GET /api/v1/blocks: the accounts the caller blocks."""
    return await account_page(request, "blocks", await require_user(request, "read:blocks"))


async def mutes(request: web.Request) -> web.Response:
    """GET /api/v1/mutes: the caller's MutedAccounts (expired mutes left out)."""
    caller = await require_user(request, "read:mutes")
    page = list_page(await read_params(request))
    client = request.app[CLIENT]
    ids = await client.query(RELATIONSHIPS, "mutes", caller, now_ms(request), *_cursor(page))
    muting = client.pstate(RELATIONSHIPS, "$$muting")
    rendered = await render.accounts(request, ids)
    mutes_found = await asyncio.gather(*(muting.get(caller, int(account["id"])) for account in rendered))
    muted = [muted_account(a, (m or {}).get("expires_at")) for a, m in zip(rendered, mutes_found, strict=True)]
    return await paged(request, muted)


async def account_page(request: web.Request, query: str, account: int) -> web.Response:
    """Answer with a page of relationships query `query` over `account`, as Accounts with `Link` headers."""
    page = list_page(await read_params(request))
    ids = await request.app[CLIENT].query(RELATIONSHIPS, query, account, *_cursor(page))
    return await paged(request, await render.accounts(request, ids))


def list_page(params: Params) -> Page:
    """Return the paging parameters of an account list (40 by default, at most 80, as Mastodon)."""
    return replace(page_params(params), limit=params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT))


def _cursor(page: Page) -> tuple[int | None, int | None, int | None, int]:
    return page.max_id, page.since_id, page.min_id, page.limit
