"""`GET /api/v1/custom_emojis`: the server's custom emojis (none yet; public, as Mastodon)."""

from __future__ import annotations

from aiohttp import web

from api.config import Route
from api.responses import json_response


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/custom_emojis", index)]


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/custom_emojis."""
    return json_response([])
