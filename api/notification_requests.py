"""Notification policies and filtered notification requests (Mastodon 4.3).

`/api/v2/notifications/policy` reads and changes what happens to notifications from strangers
(`for_not_following`, `for_not_followers`, `for_new_accounts`, `for_private_mentions`,
`for_limited_accounts`: "accept", "filter" or "drop"); `/api/v1/notifications/requests` lists the
requests filtered notifications wait in, one per sender, and accepts or dismisses them, one or many.
The rules live in the notifications module (`modules/notifications/policies.py`). Requests are merged
into the timeline as they are accepted, so `merged` is always true.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.entities import Entity, iso
from api.errors import not_found, unprocessable
from api.pagination import paged
from api.params import read_params
from api.responses import json_response
from api.scopes import require_user
from modules.core.ids import render as render_id

NOTIFICATIONS = "notifications"
OPS = "*notification_ops"
POLICY_FIELDS = ("for_not_following", "for_not_followers", "for_new_accounts", "for_private_mentions")
ALL_POLICY_FIELDS = (*POLICY_FIELDS, "for_limited_accounts")
DEFAULT_LIMIT = 40
MAX_LIMIT = 80
MAX_IDS = 100


def routes() -> list[Route]:
    """The routes of this resource (registered before `/api/v1/notifications/{id}`)."""
    return [
        ("GET", "/api/v2/notifications/policy", show_policy),
        ("PATCH", "/api/v2/notifications/policy", update_policy),
        ("GET", "/api/v1/notifications/requests", index),
        ("GET", "/api/v1/notifications/requests/merged", merged),
        ("POST", "/api/v1/notifications/requests/accept", accept_many),
        ("POST", "/api/v1/notifications/requests/dismiss", dismiss_many),
        ("GET", "/api/v1/notifications/requests/{id}", show),
        ("POST", "/api/v1/notifications/requests/{id}/accept", accept),
        ("POST", "/api/v1/notifications/requests/{id}/dismiss", dismiss),
    ]


async def show_policy(request: web.Request) -> web.Response:
    """GET /api/v2/notifications/policy: the caller's policy and what waits in requests."""
    account = await require_user(request, "read:notifications")
    return json_response(await request.app[CLIENT].query(NOTIFICATIONS, "notification_policy", account))


async def update_policy(request: web.Request) -> web.Response:
    """PATCH /api/v2/notifications/policy: change the criteria given."""
    account = await require_user(request, "write:notifications")
    params = await read_params(request)
    changes = {name: params.string(name, most=10) for name in ALL_POLICY_FIELDS if params.has(name)}
    await request.app[CLIENT].append(NOTIFICATIONS, OPS, {"op": "policy", "account": account, **changes})
    return json_response(await request.app[CLIENT].query(NOTIFICATIONS, "notification_policy", account))


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/notifications/requests: the caller's pending requests, newest first, with Link headers."""
    account = await require_user(request, "read:notifications")
    params = await read_params(request)
    limit = params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    max_id = params.string("max_id", most=20)
    if max_id is not None and not max_id.isdigit():
        raise unprocessable("max_id must be an id")
    found = await request.app[CLIENT].query(
        NOTIFICATIONS, "notification_requests", account, None if max_id is None else int(max_id), limit
    )
    rendered = await render_requests(request, account, found)
    return await paged(request, rendered, full=len(found) == limit)


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/notifications/requests/:id: one of the caller's pending requests."""
    account = await require_user(request, "read:notifications")
    found = await request.app[CLIENT].query(NOTIFICATIONS, "notification_request", account, request_id(request))
    rendered = await render_requests(request, account, [] if found is None else [found])
    if not rendered:
        raise not_found()
    return json_response(rendered[0])


async def merged(request: web.Request) -> web.Response:
    """GET /api/v1/notifications/requests/merged: accepted requests are merged as they are accepted."""
    await require_user(request, "read:notifications")
    return json_response({"merged": True})


async def accept(request: web.Request) -> web.Response:
    """POST /api/v1/notifications/requests/:id/accept: allow the sender and show its notifications."""
    return await settle(request, "accept_request", [request_id(request)])


async def dismiss(request: web.Request) -> web.Response:
    """POST /api/v1/notifications/requests/:id/dismiss: drop the request and its notifications."""
    return await settle(request, "dismiss_request", [request_id(request)])


async def accept_many(request: web.Request) -> web.Response:
    """POST /api/v1/notifications/requests/accept: accept every request in `id[]` (unknown ones are skipped)."""
    return await settle(request, "accept_request", await ids_param(request), one=False)


async def dismiss_many(request: web.Request) -> web.Response:
    """POST /api/v1/notifications/requests/dismiss: dismiss every request in `id[]`."""
    return await settle(request, "dismiss_request", await ids_param(request), one=False)


async def settle(request: web.Request, op: str, ids: list[int], *, one: bool = True) -> web.Response:
    """Append one accept or dismiss per request; a single unknown request is a 404."""
    account = await require_user(request, "write:notifications")
    client = request.app[CLIENT]
    results = await asyncio.gather(
        *(client.append(NOTIFICATIONS, OPS, {"op": op, "account": account, "id": id_}) for id_ in ids)
    )
    if one and not results[0].value:
        raise not_found()
    return json_response({})


async def render_requests(request: web.Request, viewer: int, found: list[dict[str, Any]]) -> list[Entity]:
    """Return NotificationRequest entities, leaving out those whose account is gone."""
    account_ids = list(dict.fromkeys(int(r["account"]) for r in found))
    status_ids = list(dict.fromkeys(int(r["last_status"]) for r in found if r["last_status"] is not None))
    accounts, statuses = await asyncio.gather(
        render.accounts(request, account_ids), render.statuses(request, viewer, status_ids, "notifications")
    )
    by_account = {int(a["id"]): a for a in accounts}
    by_status = {int(s["id"]): s for s in statuses}
    out = []
    for item in found:
        actor = by_account.get(int(item["account"]))
        if actor is not None:
            out.append(notification_request(item, actor, by_status.get(item["last_status"] or 0)))
    return out


def notification_request(found: dict[str, Any], account: Entity, last_status: Entity | None) -> Entity:
    """Return a NotificationRequest (its count is a string, as Mastodon sends it)."""
    return {
        "id": render_id(found["id"]),
        "created_at": iso(found["created_at"]),
        "updated_at": iso(found["updated_at"]),
        "account": account,
        "notifications_count": str(found["notifications_count"]),
        "last_status": last_status,
    }


async def ids_param(request: web.Request) -> list[int]:
    """Return the request ids of `id[]` (a 422 if one is not an id)."""
    texts = (await read_params(request)).strings("id", most=MAX_IDS)
    if not texts or not all(text.isdigit() and len(text) <= 19 for text in texts):
        raise unprocessable("id[] must name at least one request")
    return list(dict.fromkeys(int(text) for text in texts))


def request_id(request: web.Request) -> int:
    """Return the `:id` of the path, a 404 if it is not an id."""
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 19:
        raise not_found()
    return int(text)
