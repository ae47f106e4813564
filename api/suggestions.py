"""Who to follow: `GET /api/v2/suggestions` (Suggestions), `GET /api/v1/suggestions` (Accounts), and dismissal.

The relationships module ranks friends of friends, then the most followed accounts, leaving out the
caller, whom it follows or requested, blocks either way, mutes and dismissed. A dismissal is for good.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import render
from api.config import CLIENT, Route
from api.list_entities import suggestion
from api.lookups import now_ms, path_id
from api.params import read_params
from api.responses import json_response
from api.scopes import require_user

RELATIONSHIPS = "relationships"
DEFAULT_LIMIT, MAX_LIMIT = 40, 80  # Mastodon's


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v2/suggestions", index),
        ("GET", "/api/v1/suggestions", accounts),
        ("DELETE", "/api/v1/suggestions/{id}", dismiss),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v2/suggestions: Suggestions, best first, each with its `sources`."""
    found = await _suggested(request)
    rendered = {int(a["id"]): a for a in await render.accounts(request, [s["account_id"] for s in found])}
    return json_response([suggestion(s, rendered[s["account_id"]]) for s in found if s["account_id"] in rendered])


async def accounts(request: web.Request) -> web.Response:
    """GET /api/v1/suggestions: the suggested Accounts, best first."""
    found = await _suggested(request)
    return json_response(await render.accounts(request, [s["account_id"] for s in found]))


async def dismiss(request: web.Request) -> web.Response:
    """DELETE /api/v1/suggestions/:account_id: never suggest this account again."""
    caller = await require_user(request, "read", "write")
    target = path_id(request)
    if target != caller:  # the caller is never suggested to itself: nothing to dismiss
        record = {"op": "dismiss", "account": caller, "target": target}
        await request.app[CLIENT].append(RELATIONSHIPS, "*suggestions", record)
    return json_response({})


async def _suggested(request: web.Request) -> list[dict[str, Any]]:
    caller = await require_user(request, "read")
    limit = (await read_params(request)).integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    found: list[dict[str, Any]] = await request.app[CLIENT].query(
        RELATIONSHIPS, "suggestions", caller, limit, now_ms(request)
    )
    return found
