"""`GET /api/v1/accounts/familiar_followers?id[]=`: who among the caller's follows also follows each account.

Bounded: the caller's first `SCAN` follows are checked against each account (one relationships query
per account, run on that account's task, where its followers are indexed), and at most `SHOWN` of them
are returned per account. A caller following more than `SCAN` accounts sees a subset.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.entities import Entity, familiar_followers
from api.lookups import now_ms, parse_id
from api.params import read_params
from api.responses import json_response
from api.scopes import require_user

RELATIONSHIPS = "relationships"
MAX_IDS = 40
SCAN = 200
SHOWN = 40
PAGE = 80  # the relationships module's largest page


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/accounts/familiar_followers", index)]


async def index(request: web.Request) -> web.Response:
    """Answer with a FamiliarFollowers per id, in order (unknown ids: an empty list, as Mastodon)."""
    caller = await require_user(request, "read:follows")
    ids = [parse_id(text) for text in (await read_params(request)).strings("id", most=MAX_IDS)]
    follows = await _follows(request, caller)
    found = await asyncio.gather(*(_familiar(request, account, follows) for account in dict.fromkeys(ids)))
    by_id = dict(zip(dict.fromkeys(ids), found, strict=True))
    return json_response([familiar_followers(account, by_id[account]) for account in ids])


async def _follows(request: web.Request, caller: int) -> list[int]:
    client, cursor = request.app[CLIENT], None
    out: list[int] = []
    while len(out) < SCAN:
        ids: list[int] = await client.query(RELATIONSHIPS, "following", caller, cursor, None, None, PAGE)
        out += ids
        if len(ids) < PAGE:
            break
        cursor = ids[-1]
    return out[:SCAN]


async def _familiar(request: web.Request, account: int, follows: list[int]) -> list[Entity]:
    candidates = [f for f in follows if f != account]
    if not candidates:
        return []
    # `followed_by` of `account` towards a follow of the caller: that follow follows `account`.
    seen = await request.app[CLIENT].query(RELATIONSHIPS, "relationships", account, candidates, now_ms(request))
    return await render.accounts(request, [r["id"] for r in seen if r["followed_by"]][:SHOWN])
