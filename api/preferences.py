"""`GET /api/v1/preferences`: the caller's posting and reading preferences.

The posting defaults are the account's `source` preferences (set through update_credentials, the same
values its CredentialAccount's `source` shows); the reading ones are Mastodon's defaults (not stored).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.config import CLIENT, Route
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
    caller = await require_user(request, "read:accounts")
    found: dict[str, Any] = await request.app[CLIENT].query("core", "account", caller) or {}
    posting = {
        "posting:default:visibility": found.get("privacy", "public"),
        "posting:default:sensitive": found.get("sensitive", False),
        "posting:default:language": found.get("language"),
    }
    return json_response({**DEFAULTS, **posting})
