"""Markers: `GET /api/v1/markers` and `POST /api/v1/markers` (the `home` and `notifications` read positions)."""

from __future__ import annotations

from aiohttp import web

from api import entities
from api.config import CLIENT, Route
from api.errors import unprocessable
from api.params import read_params
from api.responses import json_response
from api.scopes import require_user
from modules.notifications.records import TIMELINES

NOTIFICATIONS = "notifications"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/markers", show), ("POST", "/api/v1/markers", save)]


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/markers: the caller's markers of the timelines named by `timeline[]` (all if none)."""
    account = await require_user(request, "read:statuses")
    names = (await read_params(request)).strings("timeline") or None
    found = await request.app[CLIENT].query(NOTIFICATIONS, "markers", account, names)
    return json_response({name: entities.marker(marker) for name, marker in found.items()})


async def save(request: web.Request) -> web.Response:
    """POST /api/v1/markers: set `home[last_read_id]` and / or `notifications[last_read_id]`."""
    account = await require_user(request, "write:statuses")
    params = await read_params(request)
    saved = {}
    for name in TIMELINES:
        last_read_id = params.nested(name).string("last_read_id", most=20)
        if last_read_id is None:
            continue
        if not last_read_id.isdigit() or int(last_read_id) <= 0:
            raise unprocessable(f"{name}[last_read_id] must be an id")
        record = {"op": "marker", "account": account, "timeline": name, "last_read_id": int(last_read_id)}
        saved[name] = entities.marker(
            (await request.app[CLIENT].append(NOTIFICATIONS, "*notification_ops", record)).value
        )
    return json_response(saved)
