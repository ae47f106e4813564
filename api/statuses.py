"""Statuses: create (idempotent by `Idempotency-Key`), show, delete."""

from __future__ import annotations

import hashlib
import uuid

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.errors import forbidden, not_found, unprocessable
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.scopes import optional
from modules.core.ids import parse
from modules.core.records import VISIBILITIES

CORE, RELATIONSHIPS = "core", "relationships"
MAX_KEY_CHARS = 64  # core's uuid limit: longer keys are hashed down to it


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("POST", "/api/v1/statuses", create),
        ("GET", "/api/v1/statuses/{id}", show),
        ("DELETE", "/api/v1/statuses/{id}", delete),
    ]


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/statuses: post a status; a repeated `Idempotency-Key` returns the first one."""
    author = await require_user(request, "write:statuses")
    params = await read_params(request)
    text = params.string("status", most=5_000) or ""
    if not text.strip():
        raise unprocessable("Text can't be blank")
    visibility = params.string("visibility", most=16) or "public"
    if visibility not in VISIBILITIES:
        raise unprocessable(f"visibility must be one of {', '.join(VISIBILITIES)}")
    reply = params.string("in_reply_to_id", most=20)
    record = {
        "op": "create",
        "author": author,
        "uuid": _request_uuid(request),
        "text": text,
        "visibility": visibility,
        "in_reply_to": _parse_id(reply) if reply else None,
        "language": params.string("language", most=16) or None,
    }
    status_id = int((await request.app[CLIENT].append(CORE, "*statuses", record)).value)
    return json_response(await _status_or_404(request, author, status_id, with_source=False))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/statuses/:id: a status the caller may see (public ones without a token)."""
    caller = await optional(request, "read:statuses")
    viewer = None if caller is None else caller.account
    return json_response(await _status_or_404(request, viewer, _parse_id(request.match_info["id"])))


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v1/statuses/:id: delete the caller's own status and return it with its source text."""
    author = await require_user(request, "write:statuses")
    status_id = _parse_id(request.match_info["id"])
    found = await _status_or_404(request, author, status_id, with_source=True)
    if found["account"]["id"] != str(author):  # type: ignore[index]
        raise forbidden("This action is not allowed")
    await request.app[CLIENT].append(CORE, "*statuses", {"op": "delete", "author": author, "id": status_id})
    return json_response(found)


async def _status_or_404(
    request: web.Request, viewer: int | None, status_id: int, *, with_source: bool = False
) -> dict[str, object]:
    found = await render.statuses(request, viewer, [status_id])
    if not found or not await _visible(request, viewer, found[0]):
        raise not_found()
    status = found[0]
    if with_source:
        hydrated = await request.app[CLIENT].query(CORE, "status", status_id)
        status["text"] = hydrated["text"] if hydrated else None
    return status


async def _visible(request: web.Request, viewer: int | None, status: dict[str, object]) -> bool:
    """Public and unlisted: anyone; private: the author and followers; direct: the author (mentions next)."""
    account: dict[str, object] = status["account"]  # type: ignore[assignment]
    author = int(str(account["id"]))
    if status["visibility"] in ("public", "unlisted") or viewer == author:
        return True
    if viewer is None or status["visibility"] == "direct":
        return False
    found = await request.app[CLIENT].query(RELATIONSHIPS, "relationship", viewer, author)
    return bool(found["following"])


def _request_uuid(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return f"api-{uuid.uuid4()}"
    return key if len(key) <= MAX_KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def _parse_id(text: str) -> int:
    if not text.isdigit() or len(text) > 19:
        raise not_found()
    return parse(text)
