"""Direct conversations: `GET /api/v1/conversations`, `DELETE /api/v1/conversations/:id`, `POST .../read`.

A Conversation is one direct thread of the caller's: the other participants, the last status and whether
it is unread. The list is newest activity first and pages by the last status' id, as Mastodon's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api import render, status_entities
from api.config import CLIENT, Route
from api.cursor_pages import cursor_page
from api.entities import Entity
from api.errors import not_found
from api.lookups import path_id
from api.oauth import require_user
from api.pagination import page_params
from api.params import read_params
from api.responses import json_response

CORE = "core"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/conversations", index),
        ("DELETE", "/api/v1/conversations/{id}", delete),
        ("POST", "/api/v1/conversations/{id}/read", read),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/conversations: the caller's direct conversations, most recent activity first."""
    account = await require_user(request, "read:statuses")
    page = page_params(await read_params(request))
    entries = await request.app[CLIENT].query(
        CORE, "direct_conversations", account, page.max_id, page.limit, page.since_id, page.min_id
    )
    return cursor_page(request, await rendered(request, account, entries), [e["last_status"] for e in entries])


async def read(request: web.Request) -> web.Response:
    """POST /api/v1/conversations/:id/read: mark it read; answers with the Conversation."""
    account = await require_user(request, "write:conversations")
    conversation = await change(request, account, "read")
    entry = await request.app[CLIENT].query(CORE, "direct_conversation", account, conversation)
    return json_response((await rendered(request, account, [entry]))[0])


async def delete(request: web.Request) -> web.Response:
    """DELETE /api/v1/conversations/:id: take it out of the caller's list (until the next direct status)."""
    account = await require_user(request, "write:conversations")
    await change(request, account, "remove")
    return json_response({})


async def change(request: web.Request, account: int, op: str) -> int:
    """Append `op` for the conversation in the path; 404 if the caller has no such conversation."""
    conversation = path_id(request)
    client = request.app[CLIENT]
    if await client.query(CORE, "direct_conversation", account, conversation) is None:
        raise not_found()
    await client.append(CORE, "*conversations", {"op": op, "account": account, "conversation": conversation})
    return conversation


async def rendered(request: render.HasApp, account: int, entries: list[dict[str, Any]]) -> list[Entity]:
    """Render conversation entries: their other participants and last status, as `account` sees them."""
    last = await render.statuses(request, account, [e["last_status"] for e in entries])
    by_id = {int(s["id"]): s for s in last}
    participants = await asyncio.gather(*(render.accounts(request, e["accounts"]) for e in entries))
    return [
        status_entities.conversation(entry, others, by_id.get(entry["last_status"]))
        for entry, others in zip(entries, participants, strict=True)
    ]
