"""Endorsements (featured profiles): `POST /api/v1/accounts/:id/pin` / `unpin` and the lists of them.

`pin` / `unpin` are Mastodon's routes up to 4.3; 4.4's `endorse` / `unendorse` do the same. Only a
followed account can be endorsed (the relationships module refuses others: 422), and an unfollow drops
the endorsement. Each action answers with the caller's Relationship afterwards (`endorsed`).
"""

from __future__ import annotations

from aiohttp import web

from api.account_lists import account_page
from api.config import CLIENT, Route
from api.entities import relationship as relationship_entity
from api.lookups import existing, relationship_of
from api.responses import json_response
from api.scopes import optional, require_user

RELATIONSHIPS = "relationships"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("POST", "/api/v1/accounts/{id}/pin", endorse),
        ("POST", "/api/v1/accounts/{id}/unpin", unendorse),
        ("POST", "/api/v1/accounts/{id}/endorse", endorse),
        ("POST", "/api/v1/accounts/{id}/unendorse", unendorse),
        ("GET", "/api/v1/endorsements", mine),
        ("GET", "/api/v1/accounts/{id}/endorsements", theirs),
    ]


async def endorse(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/pin: feature a followed account on the caller's profile."""
    return await _act(request, "endorse")


async def unendorse(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/unpin: stop featuring it."""
    return await _act(request, "unendorse")


async def mine(request: web.Request) -> web.Response:
    """GET /api/v1/endorsements: the accounts the caller features, paged with `Link` headers."""
    return await account_page(request, "endorsements", await require_user(request, "read:accounts"))


async def theirs(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/endorsements: the accounts an account features (public)."""
    await optional(request, "read:accounts")
    return await account_page(request, "endorsements", await existing(request))


async def _act(request: web.Request, op: str) -> web.Response:
    caller, target = await require_user(request, "write:accounts"), await existing(request)
    if caller != target or op == "endorse":  # unendorsing yourself: nothing to undo; endorsing: the module refuses
        record = {"op": op, "account": caller, "target": target}
        await request.app[CLIENT].append(RELATIONSHIPS, "*follows", record)
    return json_response(relationship_entity(await relationship_of(request, caller, target)))
