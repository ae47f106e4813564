"""Relationships: follow (with options), unfollow, block, mute, private notes, remove a follower, and reads.

Every action appends one record to the relationships module and answers with the caller's Relationship
to the account afterwards (appends wait until processed, so the read sees the change). Mastodon's edge
cases: following yourself is a 404 (there is no such account to follow), following across a block a 403;
undoing on yourself (unfollow, unblock, unmute, remove_from_followers) changes nothing and answers 200.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.config import CLIENT, Route
from api.entities import relationship as relationship_entity
from api.errors import forbidden, not_found
from api.lookups import existing, now_ms, parse_id, relationship_of
from api.params import Params, read_params
from api.responses import json_response
from api.scopes import require_user

CORE, RELATIONSHIPS = "core", "relationships"
MAX_IDS = 40  # Mastodon's cap on `id[]` for relationships
NOT_ALLOWED = "This action is not allowed"
MAX_MUTE_SECONDS = 10 * 365 * 86_400
UNDO_OPS = frozenset({"unfollow", "remove_follower", "unblock", "unmute"})


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/accounts/relationships", relationships),
        ("POST", "/api/v1/accounts/{id}/follow", follow),
        ("POST", "/api/v1/accounts/{id}/unfollow", unfollow),
        ("POST", "/api/v1/accounts/{id}/remove_from_followers", remove_from_followers),
        ("POST", "/api/v1/accounts/{id}/block", block),
        ("POST", "/api/v1/accounts/{id}/unblock", unblock),
        ("POST", "/api/v1/accounts/{id}/mute", mute),
        ("POST", "/api/v1/accounts/{id}/unmute", unmute),
        ("POST", "/api/v1/accounts/{id}/note", note),
    ]


async def relationships(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/relationships?id[]=: the caller's Relationship to each existing account."""
    caller = await require_user(request, "read:follows")
    wanted = [parse_id(text) for text in (await read_params(request)).strings("id", most=MAX_IDS)]
    client = request.app[CLIENT]
    present = await client.query(CORE, "accounts_here", wanted) if wanted else {}
    others = [i for i in dict.fromkeys(wanted) if i in present]  # Mastodon leaves unknown ids out
    found = await client.query(RELATIONSHIPS, "relationships", caller, others, now_ms(request)) if others else []
    return json_response([relationship_entity(r) for r in found])


async def follow(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/follow (`reblogs`, `notify`, `languages[]`): follow, or change the options."""
    caller, target = await require_user(request, "write:follows"), await existing(request)
    if caller == target:
        raise not_found()
    options = follow_options(await read_params(request))
    current = await relationship_of(request, caller, target)
    if current["blocking"] or current["blocked_by"]:
        raise forbidden(NOT_ALLOWED)
    return await _act(
        request, "*follows", {"op": "follow", "follower": caller, "followee": target, **options}, caller, target
    )


async def unfollow(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/unfollow: stop following, or withdraw the request."""
    caller, target = await require_user(request, "write:follows"), await existing(request)
    return await _act(request, "*follows", {"op": "unfollow", "follower": caller, "followee": target}, caller, target)


async def remove_from_followers(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/remove_from_followers: make the account stop following the caller."""
    caller, target = await require_user(request, "write:follows"), await existing(request)
    return await _act(
        request, "*follows", {"op": "remove_follower", "followee": caller, "follower": target}, caller, target
    )


async def block(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/block: block (ends follows and requests both ways)."""
    caller, target = await require_user(request, "write:blocks"), await existing(request)
    return await _act(request, "*blocks", {"op": "block", "blocker": caller, "blocked": target}, caller, target)


async def unblock(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/unblock."""
    caller, target = await require_user(request, "write:blocks"), await existing(request)
    return await _act(request, "*blocks", {"op": "unblock", "blocker": caller, "blocked": target}, caller, target)


async def mute(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/mute (`notifications` default true, `duration` seconds, 0: indefinite)."""
    caller, target = await require_user(request, "write:mutes"), await existing(request)
    params = await read_params(request)
    duration = params.integer("duration", 0, 0, MAX_MUTE_SECONDS)
    record = {"op": "mute", "muter": caller, "muted": target, "notifications": params.boolean("notifications", True)}
    return await _act(request, "*mutes", {**record, "duration_s": duration or None}, caller, target)


async def unmute(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/unmute."""
    caller, target = await require_user(request, "write:mutes"), await existing(request)
    return await _act(request, "*mutes", {"op": "unmute", "muter": caller, "muted": target}, caller, target)


async def note(request: web.Request) -> web.Response:
    """POST /api/v1/accounts/:id/note (`comment`; empty or absent clears the note)."""
    caller, target = await require_user(request, "write:accounts"), await existing(request)
    comment = (await read_params(request)).string("comment", default="") or ""
    return await _act(request, "*notes", {"author": caller, "target": target, "comment": comment}, caller, target)


def follow_options(params: Params) -> dict[str, Any]:
    """Return the follow options given (left out: keep the current ones, or Mastodon's defaults)."""
    options: dict[str, Any] = {flag: params.boolean(flag) for flag in ("reblogs", "notify") if params.has(flag)}
    if params.has("languages"):
        options["languages"] = params.strings("languages") or None  # none listed: every language
    return options


async def _act(request: web.Request, depot: str, record: dict[str, Any], caller: int, other: int) -> web.Response:
    """Append `record` and answer with the caller's Relationship to `other` afterwards."""
    if caller != other or record.get("op") not in UNDO_OPS:  # undoing on yourself: nothing to undo
        await request.app[CLIENT].append(RELATIONSHIPS, depot, record)
    return json_response(relationship_entity(await relationship_of(request, caller, other)))
