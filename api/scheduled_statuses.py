"""Scheduled statuses: list, show, move to another time, cancel (`/api/v1/scheduled_statuses`).

They are made by `POST /api/v1/statuses` with `scheduled_at` (`api.statuses`); core publishes each at its
time. Paging is by the scheduled id (newest first), as Mastodon's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import compose, render, status_entities
from api.config import CLIENT, Route
from api.entities import Entity
from api.errors import not_found, unprocessable
from api.lookups import path_id
from api.oauth import require_user
from api.pagination import page_params, paged
from api.params import read_params
from api.responses import json_response

CORE = "core"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/scheduled_statuses", index),
        ("GET", "/api/v1/scheduled_statuses/{id}", show),
        ("PUT", "/api/v1/scheduled_statuses/{id}", update),
        ("DELETE", "/api/v1/scheduled_statuses/{id}", delete),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/scheduled_statuses: the caller's scheduled statuses, newest id first."""
    author = await require_user(request, "read:statuses")
    page = page_params(await read_params(request))
    entries = await request.app[CLIENT].query(
        CORE, "scheduled_statuses", author, page.max_id, page.limit, page.since_id, page.min_id
    )
    return await paged(request, await rendered(request, author, entries))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/scheduled_statuses/:id."""
    author = await require_user(request, "read:statuses")
    return json_response(await rendered_scheduled(request, author, path_id(request)))


async def update(request: web.Request) -> web.Response:
    """PUT /api/v1/scheduled_statuses/:id: move it to `scheduled_at` (more than 5 minutes ahead)."""
    author = await require_user(request, "write:statuses")
    scheduled_id = path_id(request)
    await entry_or_404(request, author, scheduled_id)
    at = compose.scheduled_at_ms(await read_params(request))
    if at is None:
        raise unprocessable("scheduled_at is required")
    record = {"op": "reschedule", "author": author, "id": scheduled_id, "scheduled_at": at}
    await request.app[CLIENT].append(CORE, "*statuses", record)
    return json_response(await rendered_scheduled(request, author, scheduled_id))


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v1/scheduled_statuses/:id: cancel it."""
    author = await require_user(request, "write:statuses")
    scheduled_id = path_id(request)
    await entry_or_404(request, author, scheduled_id)
    await request.app[CLIENT].append(
        CORE, "*statuses", {"op": "cancel_scheduled", "author": author, "id": scheduled_id}
    )
    return json_response({})


async def entry_or_404(request: web.Request, author: int, scheduled_id: int) -> dict[str, Any]:
    """Return `author`'s scheduled entry `scheduled_id`; 404 if there is none."""
    found: dict[str, Any] | None = await request.app[CLIENT].query(CORE, "scheduled_status", author, scheduled_id)
    if found is None:
        raise not_found()
    return found


async def rendered_scheduled(request: web.Request, author: int, scheduled_id: int) -> Entity:
    """Return `author`'s ScheduledStatus `scheduled_id`; 404 if there is none."""
    return (await rendered(request, author, [await entry_or_404(request, author, scheduled_id)]))[0]


async def rendered(request: web.Request, author: int, entries: list[dict[str, Any]]) -> list[Entity]:
    """Render scheduled entries with their media (one read for all of them)."""
    media_ids = sorted({m for entry in entries for m in entry["params"].get("media") or []})
    media = await render.media(request, author, media_ids)
    return [status_entities.scheduled_status(entry, media) for entry in entries]
