"""`GET /api/v1/preferences`: the caller's posting and reading preferences.

No module stores preferences yet, so every account has Mastodon's defaults (the same values its
CredentialAccount's `source` shows).
"""

from __future__ import annotations

from aiohttp import web

from api.config import Route
from api.responses import json_response
from api.scopes import require_user

DEFAULTS = {
    "posting:default:visibility": "public",
    "posting:default:sensitive": False,
    "posting:default:language": None,
    "reading:expand:media": "default",
    "reading:expand:spoilers": False,
    "reading:autoplay:gifs": False,
}


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/preferences", show)]


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/preferences (scope read:accounts, a user token)."""
    await require_user(request, "read:accounts")
    return json_response(DEFAULTS)
