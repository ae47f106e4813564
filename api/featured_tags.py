"""Featured tags: the caller's (list, feature, unfeature), suggestions, and any account's.

    GET    /api/v1/featured_tags                  read:accounts
    POST   /api/v1/featured_tags  name            write:accounts
    DELETE /api/v1/featured_tags/:id              write:accounts
    GET    /api/v1/featured_tags/suggestions      read:accounts   tags the caller used lately, not featured
    GET    /api/v1/accounts/:id/featured_tags     open

A featured tag's id is its normalized name (unique per account; the trends module keys them so). Featuring
a tag already featured answers the existing one, where Mastodon answers 422: the write is idempotent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api import entities
from api.config import CLIENT, CONFIG, Route
from api.entities import Entity
from api.errors import not_found
from api.oauth import require_user
from api.params import read_params
from api.responses import json_response
from api.scopes import optional
from modules.core.ids import parse
from modules.core.text import normalize_tag

CORE, TRENDS = "core", "trends"
SUGGESTIONS = 10


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/featured_tags", index),
        ("POST", "/api/v1/featured_tags", feature),
        ("GET", "/api/v1/featured_tags/suggestions", suggestions),
        ("DELETE", "/api/v1/featured_tags/{id}", unfeature),
        ("GET", "/api/v1/accounts/{id}/featured_tags", of_account),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/featured_tags: the caller's featured tags, oldest first."""
    account = await require_user(request, "read:accounts")
    return json_response(await featured(request, account))


async def feature(request: web.Request) -> web.Response:
    """POST /api/v1/featured_tags: feature the hashtag `name` on the caller's profile."""
    account = await require_user(request, "write:accounts")
    name = (await read_params(request)).required("name", most=200).strip()
    record = {"op": "feature", "account": account, "tag": name}
    await request.app[CLIENT].append(TRENDS, "*featured_tags", record)  # a bad name or the limit: 422
    found = _find(await featured(request, account), normalize_tag(name))
    if found is None:  # unfeatured again between the two calls
        raise not_found()
    return json_response(found)


async def unfeature(request: web.Request) -> web.Response:
    """DELETE /api/v1/featured_tags/:id: stop featuring it; 404 if the caller does not feature it."""
    account = await require_user(request, "write:accounts")
    tag_id = request.match_info["id"]
    if _find(await featured(request, account), normalize_tag(tag_id)) is None:
        raise not_found()
    record = {"op": "unfeature", "account": account, "tag": tag_id}
    await request.app[CLIENT].append(TRENDS, "*featured_tags", record)
    return json_response({})


async def suggestions(request: web.Request) -> web.Response:
    """GET /api/v1/featured_tags/suggestions: Tags the caller used most recently and does not feature yet."""
    account = await require_user(request, "read:accounts")
    client = request.app[CLIENT]
    featured_names = {f["id"] for f in await featured(request, account)}
    used: list[dict[str, Any]] = await client.query(
        TRENDS, "suggested_tags", account, SUGGESTIONS + len(featured_names)
    )
    names = [u["name"] for u in used if u["name"] not in featured_names][:SUGGESTIONS]
    found = await asyncio.gather(*(client.query(TRENDS, "tag", name) for name in names))
    config = request.app[CONFIG]
    return json_response([entities.tag(config, t, following=False, featuring=False) for t in found])


async def of_account(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/featured_tags: the tags an account features on its profile."""
    await optional(request, "read:accounts")
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 19:
        raise not_found()
    return json_response(await featured(request, parse(text)))


async def featured(request: web.Request, account: int) -> list[Entity]:
    """Return the FeaturedTags of `account` (404 if there is no such account)."""
    client = request.app[CLIENT]
    owner, found = await asyncio.gather(
        client.query(CORE, "account", account), client.query(TRENDS, "featured_tags", account)
    )
    if owner is None:
        raise not_found()
    config = request.app[CONFIG]
    return [entities.featured_tag(config, owner["username"], f) for f in found]


def _find(featured_tags: list[Entity], tag_id: str) -> Entity | None:
    return next((f for f in featured_tags if f["id"] == tag_id), None)
