"""Notifications: `/api/v1/notifications` (list, one, clear, dismiss, unread_count) and `/api/v2/notifications`.

Handlers read the notifications module and render accounts and statuses with `render`; a notification whose
status is gone (deleted, or no longer visible to the caller) is left out, as Mastodon deletes it with its
status. Lists and counts leave out the notifications a notification request holds (policies), but `GET
/api/v1/notifications/:id` and dismiss find them by id, as Mastodon 4.3's (which marks them `"filtered": true`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api import entities, render
from api.config import CLIENT, Route
from api.entities import Entity
from api.errors import not_found, unprocessable
from api.pagination import Page, paged
from api.params import Params, read_params
from api.responses import json_response
from api.scopes import require_user
from modules.notifications.records import TYPES

NOTIFICATIONS = "notifications"
DEFAULT_LIMIT = 40
MAX_LIMIT = 80
V2_MAX_LIMIT = 80
UNREAD_DEFAULT = 100
UNREAD_MAX = 1_000


def routes() -> list[Route]:
    """The routes of this resource (fixed paths before `:id`)."""
    return [
        ("GET", "/api/v1/notifications", index),
        ("GET", "/api/v1/notifications/unread_count", unread_count),
        ("POST", "/api/v1/notifications/clear", clear),
        ("GET", "/api/v1/notifications/{id}", show),
        ("POST", "/api/v1/notifications/{id}/dismiss", dismiss),
        ("GET", "/api/v2/notifications", grouped),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/notifications: a page of the caller's notifications, newest first, with Link headers."""
    account = await require_user(request, "read:notifications")
    params = await read_params(request)
    page = page_of(params, MAX_LIMIT)
    found = await request.app[CLIENT].query(
        NOTIFICATIONS, "notifications", account, page.max_id, page.since_id, page.min_id, page.limit, **filters(params)
    )
    return await paged(request, await rendered(request, account, found))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/notifications/:id: one of the caller's notifications."""
    account = await require_user(request, "read:notifications")
    found = await request.app[CLIENT].query(NOTIFICATIONS, "notification", account, parse_id(request))
    notifications = [] if found is None else await rendered(request, account, [found])
    if not notifications:
        raise not_found()
    return json_response(notifications[0])


async def clear(request: web.Request) -> web.Response:
    """POST /api/v1/notifications/clear: remove every notification of the caller."""
    account = await require_user(request, "write:notifications")
    await request.app[CLIENT].append(NOTIFICATIONS, "*notification_ops", {"op": "clear", "account": account})
    return json_response({})


async def dismiss(request: web.Request) -> web.Response:
    """POST /api/v1/notifications/:id/dismiss: remove one notification of the caller."""
    account = await require_user(request, "write:notifications")
    record = {"op": "dismiss", "account": account, "id": parse_id(request)}
    result = await request.app[CLIENT].append(NOTIFICATIONS, "*notification_ops", record)
    if not result.value:
        raise not_found()
    return json_response({})


async def unread_count(request: web.Request) -> web.Response:
    """GET /api/v1/notifications/unread_count: notifications above the `notifications` marker, capped."""
    account = await require_user(request, "read:notifications")
    params = await read_params(request)
    limit = params.integer("limit", UNREAD_DEFAULT, 1, UNREAD_MAX)
    kinds = filters(params)
    count = await request.app[CLIENT].query(
        NOTIFICATIONS, "unread_count", account, limit, kinds["types"], kinds["exclude_types"]
    )
    return json_response({"count": count})


async def grouped(request: web.Request) -> web.Response:
    """GET /api/v2/notifications: a page of notification groups with their accounts and statuses."""
    account = await require_user(request, "read:notifications")
    params = await read_params(request)
    page = page_of(params, V2_MAX_LIMIT)
    grouped_types = [t for t in params.strings("grouped_types") if t in TYPES] if params.has("grouped_types") else None
    groups = await request.app[CLIENT].query(
        NOTIFICATIONS,
        "grouped",
        account,
        page.max_id,
        page.since_id,
        page.min_id,
        page.limit,
        grouped_types=grouped_types,
        **filters(params),
    )
    account_ids = list(dict.fromkeys(a for group in groups for a in group["sample_account_ids"]))
    status_ids = list(dict.fromkeys(g["status"] for g in groups if g["status"] is not None))
    accounts, statuses = await asyncio.gather(
        render.accounts(request, account_ids), render.statuses(request, account, status_ids, "notifications")
    )
    live = {int(status["id"]) for status in statuses}
    kept = [group for group in groups if group["status"] is None or group["status"] in live]
    body = {
        "accounts": accounts,
        "statuses": statuses,
        "notification_groups": [entities.notification_group(group) for group in kept],
    }
    return await paged_groups(request, body, kept)


async def paged_groups(request: web.Request, body: Entity, groups: list[dict[str, Any]]) -> web.Response:
    """Return `body` with Link headers: older below the page's oldest id, newer above its newest."""
    response = json_response(body)
    if groups:
        older = min(group["page_min_id"] for group in groups)
        newer = max(group["page_max_id"] for group in groups)
        response.headers["Link"] = f"{link(request, 'max_id', older, 'next')}, {link(request, 'min_id', newer, 'prev')}"
    return response


def link(request: web.Request, cursor: str, value: int, rel: str) -> str:
    """Return one Link header entry keeping the request's other parameters."""
    query = [(k, v) for k, v in request.query.items() if k not in ("max_id", "since_id", "min_id")]
    return f'<{request.url.with_query([*query, (cursor, str(value))])}>; rel="{rel}"'


async def rendered(request: render.HasApp, viewer: int, found: list[dict[str, Any]]) -> list[Entity]:
    """Return Notification entities, leaving out those whose account or status is gone."""
    account_ids = list(dict.fromkeys(n["account"] for n in found))
    status_ids = list(dict.fromkeys(n["status"] for n in found if n["status"] is not None))
    accounts, statuses = await asyncio.gather(
        render.accounts(request, account_ids), render.statuses(request, viewer, status_ids, "notifications")
    )
    by_account = {int(a["id"]): a for a in accounts}
    by_status = {int(s["id"]): s for s in statuses}
    out = []
    for notification in found:
        actor, status = by_account.get(notification["account"]), by_status.get(notification["status"])
        if actor is not None and (notification["status"] is None or status is not None):
            out.append(with_filtered(entities.notification(notification, actor, status), notification))
    return out


def with_filtered(entity: Entity, found: dict[str, Any]) -> Entity:
    """Mark a notification held by a notification request as Mastodon does (`"filtered": true`, else absent)."""
    if found.get("filtered"):
        entity["filtered"] = True
    return entity


def page_of(params: Params, most: int) -> Page:
    """Return the paging parameters with Mastodon's notification limits (40 by default)."""
    return Page(
        cursor(params, "max_id"),
        cursor(params, "since_id"),
        cursor(params, "min_id"),
        params.integer("limit", DEFAULT_LIMIT, 1, most),
    )


def cursor(params: Params, name: str) -> int | None:
    """Return the id parameter `name`, None if absent, a 422 if it is not an id."""
    text = params.string(name, most=20)
    if not text:
        return None
    if not text.isdigit():
        raise unprocessable(f"{name} must be an id")
    return int(text)


def filters(params: Params) -> dict[str, Any]:
    """Return the `types[]`, `exclude_types[]` and `account_id` filters (unknown types are ignored)."""
    account_id = params.string("account_id", most=20)
    if account_id is not None and not account_id.isdigit():
        raise unprocessable("account_id must be an id")
    return {
        "types": [t for t in params.strings("types") if t in TYPES] or None,
        "exclude_types": params.strings("exclude_types") or None,
        "from_account": None if account_id is None else int(account_id),
    }


def parse_id(request: web.Request) -> int:
    """Return the `:id` of the path, a 404 if it is not an id."""
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 19:
        raise not_found()
    return int(text)
