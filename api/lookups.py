"""What the account routes share: ids from the path, the account they name (or 404), the request clock."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import render
from api.config import CLIENT
from api.entities import Entity
from api.errors import not_found
from api.fresh import written
from modules.core.ids import parse

CORE, RELATIONSHIPS = "core", "relationships"
MAX_ID_DIGITS = 19  # ids are signed 64-bit


def parse_id(text: str) -> int:
    """Return the id `text` names; 404 if it is not an id (Mastodon finds no such record)."""
    if not text.isdigit() or len(text) > MAX_ID_DIGITS:
        raise not_found()
    return parse(text)


def path_id(request: web.Request, name: str = "id") -> int:
    """Return the id in the path segment `name`."""
    return parse_id(request.match_info[name])


async def existing(request: web.Request, name: str = "id") -> int:
    """Return the id in the path, 404 unless it names an account."""
    account_id = path_id(request, name)
    if await request.app[CLIENT].query(CORE, "account", account_id) is None:
        raise not_found()
    return account_id


async def account_or_404(request: web.Request, account_id: int, *, credential: bool = False) -> Entity:
    """Return the rendered Account `account_id`; 404 if there is none.

    The caller's own account (`credential`) must exist, so a miss is its registration still landing (`api.fresh`).
    """

    async def load() -> Entity | None:
        return await render.account(request, account_id, credential=credential)

    found = await (written(load) if credential else load())
    if found is None:
        raise not_found()
    return found


def now_ms(request: web.Request) -> int:
    """Return the request time in ms by the cluster's clock (mute expiry is stamped with it: tests' FakeClock)."""
    return int(request.app[CLIENT].clock.now_ms())


async def relationship_of(request: web.Request, account: int, other: int) -> dict[str, Any]:
    """Return the relationships module's Relationship of `account` towards `other`, now."""
    query = request.app[CLIENT].query
    found: dict[str, Any] = await query(RELATIONSHIPS, "relationship", account, other, now_ms(request))
    return found
