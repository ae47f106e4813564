"""`GET /api/v1/announcements`: server announcements (none: there is no admin interface to make them yet)."""

from __future__ import annotations

from aiohttp import web

from api.config import Route
from api.responses import json_response
from api.scopes import require_user


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/announcements", index)]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/announcements (scope read, a user token, as Mastodon)."""
    await require_user(request, "read")
    return json_response([])
