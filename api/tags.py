"""Hashtags: `GET /api/v1/tags/:name`, a Tag with its 7-day history.

Any valid hashtag name answers (a tag nobody used has a history of zeros), as Mastodon answers with an
unsaved tag; a name that is not a hashtag is a 404. With a user token, `featuring` says whether the caller
features it; `following` stays false until the relationships module has followed hashtags.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import entities
from api.config import CLIENT, CONFIG, Route
from api.errors import not_found
from api.responses import json_response
from api.scopes import optional
from modules.core.text import normalize_tag
from modules.trends.text import is_tag_name

TRENDS = "trends"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/tags/{name}", show)]


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/tags/:name."""
    caller = await optional(request)
    name = tag_name(request.match_info["name"])
    client = request.app[CLIENT]
    found: dict[str, Any] = await client.query(TRENDS, "tag", name)
    featuring = None
    if caller is not None and caller.account is not None:
        featured: list[dict[str, Any]] = await client.query(TRENDS, "featured_tags", caller.account)
        featuring = any(normalize_tag(f["name"]) == found["name"] for f in featured)
    following = None if featuring is None else False
    return json_response(entities.tag(request.app[CONFIG], found, following=following, featuring=featuring))


def tag_name(text: str) -> str:
    """Return a hashtag name from a path segment (a leading '#' allowed), 404 unless it is a valid one."""
    name = text.removeprefix("#")
    if not is_tag_name(name):
        raise not_found()
    return name
