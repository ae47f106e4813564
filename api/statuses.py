"""Statuses: create (or schedule), show one or many, edit, delete (returning the source for a redraft).

`POST /api/v1/statuses` appends a create to core (idempotent by `Idempotency-Key`, core's uuid) and
returns the Status; with `scheduled_at` it appends a schedule and returns the ScheduledStatus instead.
Only the author may edit or delete, and someone else's status is a 404, as Mastodon finds it among the
caller's own statuses only.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import compose, render
from api.config import CLIENT, Route
from api.entities import Entity
from api.errors import not_found, unprocessable
from api.fresh import written
from api.lookups import parse_id, path_id
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.scheduled_statuses import rendered_scheduled
from api.scopes import optional

CORE = "core"
MAX_IDS = 20  # GET /api/v1/statuses?id[]=: at most this many ids per request


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("POST", "/api/v1/statuses", create),
        ("GET", "/api/v1/statuses", index),
        ("GET", "/api/v1/statuses/{id}", show),
        ("PUT", "/api/v1/statuses/{id}", update),
        ("DELETE", "/api/v1/statuses/{id}", delete),
    ]


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/statuses: post (or schedule) a status; a repeated `Idempotency-Key` returns the first one."""
    author = await require_user(request, "write:statuses")
    params = await read_params(request)
    fields = compose.content_fields(params)
    reply = params.string("in_reply_to_id", most=20)
    fields.update(
        visibility=compose.visibility(params),
        in_reply_to=compose.parse_id(reply, "in_reply_to_id") if reply else None,
        mentions=await compose.mentions(request, fields["text"]),
    )
    fields = {k: v for k, v in fields.items() if v is not None}
    uuid = compose.request_uuid(request)
    scheduled_at = compose.scheduled_at_ms(params)
    client = request.app[CLIENT]
    if scheduled_at is not None:
        record = {"op": "schedule", "author": author, "uuid": uuid, "scheduled_at": scheduled_at, "params": fields}
        scheduled_id = int((await client.append(CORE, "*statuses", record)).value)
        return json_response(await rendered_scheduled(request, author, scheduled_id))
    record = {"op": "create", "author": author, "uuid": uuid, **fields}
    status_id = int((await client.append(CORE, "*statuses", record)).value)
    return json_response(await status_or_404(request, author, status_id, just_written=True))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id: a status the caller may see (public ones without a token)."""
    return json_response(await status_or_404(request, await viewer_of(request), path_id(request)))


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/statuses?id[]=: the statuses among the ids that the caller may see, in order."""
    viewer = await viewer_of(request)
    texts = (await read_params(request)).strings("id", most=MAX_IDS)
    if not texts:
        raise unprocessable("id[] must name at least one status")
    ids = [parse_id(text) for text in texts]
    return json_response(await render.statuses(request, viewer, list(dict.fromkeys(ids))))


async def update(request: web.Request) -> web.Response:
    """PUT /api/v1/statuses/:id: edit the caller's own status (text, spoiler, sensitive, language, media, poll)."""
    author = await require_user(request, "write:statuses")
    found = await own_status(request, author)
    status_id = int(found["id"])
    if found.get("reblog_of") is not None:
        raise unprocessable("A boost cannot be edited")
    fields = compose.content_fields(await read_params(request))
    fields = {k: v for k, v in fields.items() if v is not None}
    record = {"op": "edit", "author": author, "id": status_id, "uuid": compose.request_uuid(request, "edit"), **fields}
    await request.app[CLIENT].append(CORE, "*statuses", record)
    return json_response(await status_or_404(request, author, status_id))


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v1/statuses/:id: delete the caller's own status and return it with its source text."""
    author = await require_user(request, "write:statuses")
    status_id = int((await own_status(request, author))["id"])
    found = await status_or_404(request, author, status_id)
    source = await request.app[CLIENT].query(CORE, "status_source", status_id)
    await request.app[CLIENT].append(CORE, "*statuses", {"op": "delete", "author": author, "id": status_id})
    # Mastodon's redraft: the source text, and counts and flags as of the deletion.
    return json_response({**found, "text": None if source is None else source["text"]})


async def viewer_of(request: web.Request) -> int | None:
    """Return the caller's account on a route that anyone may read (a token given must allow reading statuses)."""
    caller = await optional(request, "read:statuses")
    return None if caller is None else caller.account


async def status_or_404(
    request: web.Request, viewer: int | None, status_id: int, *, just_written: bool = False
) -> Entity:
    """Return the Status `status_id` as `viewer` sees it; 404 if it is gone or hidden from them.

    `just_written`: the caller has just created it, so a miss is a write still landing (`api.fresh`).
    """

    async def load() -> Entity | None:
        found = await render.statuses(request, viewer, [status_id])
        return found[0] if found else None

    status = await (written(load) if just_written else load())
    if status is None:
        raise not_found()
    return status


async def own_status(request: web.Request, author: int) -> dict[str, Any]:
    """Return core's status named in the path if `author` wrote it (and it is live); 404 otherwise."""
    status_id = path_id(request)
    found = await request.app[CLIENT].query(CORE, "status", status_id)
    if found is None or found["author"] != author:
        raise not_found()
    return dict(found)
