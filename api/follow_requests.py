"""Follow requests to the caller (a locked account): list them, authorize or reject one."""

from __future__ import annotations

from aiohttp import web

from api.account_lists import account_page
from api.config import CLIENT, Route
from api.entities import relationship
from api.errors import not_found
from api.lookups import existing, relationship_of
from api.responses import json_response
from api.scopes import require_user

RELATIONSHIPS = "relationships"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/follow_requests", index),
        ("POST", "/api/v1/follow_requests/{id}/authorize", authorize),
        ("POST", "/api/v1/follow_requests/{id}/reject", reject),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/follow_requests: the accounts waiting for the caller's answer, paged."""
    return await account_page(request, "follow_requests", await require_user(request, "read:follows"))


async def authorize(request: web.Request) -> web.Response:
    """POST /api/v1/follow_requests/:id/authorize: accept the account as a follower."""
    return await _answer(request, "authorize")


async def reject(request: web.Request) -> web.Response:
    """POST /api/v1/follow_requests/:id/reject: refuse the account's request."""
    return await _answer(request, "reject")


async def _answer(request: web.Request, op: str) -> web.Response:
    caller, requester = await require_user(request, "write:follows"), await existing(request)
    client = request.app[CLIENT]
    if not (await relationship_of(request, caller, requester))["requested_by"]:
        raise not_found()  # Mastodon looks the request up and finds none
    await client.append(RELATIONSHIPS, "*follows", {"op": op, "followee": caller, "follower": requester})
    return json_response(relationship(await relationship_of(request, caller, requester)))
