"""Followed hashtags: `GET /api/v1/followed_tags` and `POST /api/v1/tags/:name/follow` / `unfollow`.

The relationships module keeps an account's followed tags in name order, so pages go by name: the
`next` link carries the last name as `max_id` (a Tag's id here is its normalized name). A name that is
not a hashtag is a 404, as Mastodon finds no such tag. Following is idempotent, as since Mastodon 4.1.
"""

from __future__ import annotations

from aiohttp import web

from api.config import CLIENT, CONFIG, Route
from api.errors import not_found
from api.list_entities import tag_entity
from api.params import read_params
from api.responses import json_response
from api.scopes import require_user
from modules.relationships.tags import MAX_TAG_CHARS, normalize_tag
from topology.context import RecordRejected

RELATIONSHIPS = "relationships"
DEFAULT_LIMIT, MAX_LIMIT = 100, 200  # Mastodon's


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/followed_tags", index),
        ("POST", "/api/v1/tags/{name}/follow", follow),
        ("POST", "/api/v1/tags/{name}/unfollow", unfollow),
    ]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/followed_tags: a page of the caller's followed tags, in name order, with a `next` link."""
    caller = await require_user(request, "read:follows")
    params = await read_params(request)
    limit = params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = params.string("max_id", most=MAX_TAG_CHARS) or None
    names: list[str] = await request.app[CLIENT].query(RELATIONSHIPS, "followed_tags", caller, after, limit)
    config = request.app[CONFIG]
    headers = {"Link": _next_link(request, names[-1])} if names else {}
    return json_response([tag_entity(config, name, following=True) for name in names], headers=headers)


async def follow(request: web.Request) -> web.Response:
    """POST /api/v1/tags/:name/follow: the Tag, now followed."""
    return await _act(request, "follow")


async def unfollow(request: web.Request) -> web.Response:
    """POST /api/v1/tags/:name/unfollow: the Tag, no longer followed."""
    return await _act(request, "unfollow")


async def _act(request: web.Request, op: str) -> web.Response:
    caller = await require_user(request, "write:follows")
    name = tag_name(request.match_info["name"])
    client = request.app[CLIENT]
    await client.append(RELATIONSHIPS, "*followed_tags", {"op": op, "account": caller, "tag": name})
    following = bool(await client.query(RELATIONSHIPS, "follows_tag", caller, name))
    return json_response(tag_entity(request.app[CONFIG], name, following=following))


def tag_name(text: str) -> str:
    """Return the normalized hashtag a path segment names (a leading '#' allowed); 404 if it is not one."""
    try:
        return normalize_tag(text)
    except RecordRejected:
        raise not_found() from None


def _next_link(request: web.Request, last: str) -> str:
    query = [(k, v) for k, v in request.query.items() if k not in ("max_id", "since_id", "min_id")]
    return f'<{request.url.with_query([*query, ("max_id", last)])}>; rel="next"'
