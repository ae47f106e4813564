"""OAuth applications: `POST /api/v1/apps`, `GET /api/v1/apps/verify_credentials`."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from api.config import CLIENT, Route
from api.errors import not_found, unprocessable
from api.params import read_params
from api.responses import json_response
from api.scopes import AUTH, digest, parse_scopes, require

OOB = "urn:ietf:wg:oauth:2.0:oob"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("POST", "/api/v1/apps", create), ("GET", "/api/v1/apps/verify_credentials", verify_credentials)]


async def create(request: web.Request) -> web.Response:
    """Register a client application and return it with its client_id and client_secret."""
    params = await read_params(request)
    name = params.required("client_name", most=255)
    uris = params.strings("redirect_uris", most=16) or (params.required("redirect_uris", most=2_000).split())
    if not uris or not all(uri == OOB or uri.startswith(("http://", "https://")) or ":" in uri for uri in uris):
        raise unprocessable("redirect_uri must be an absolute URI")
    scopes = parse_scopes(params.string("scopes", most=1_000))
    website = params.string("website", most=2_000) or None
    client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    record = {
        "client_id": client_id,
        "secret_hash": digest(secret),
        "name": name,
        "redirect_uris": uris,
        "scopes": scopes,
        "website": website,
    }
    await request.app[CLIENT].append(AUTH, "*apps", record)
    credentials = {"client_id": client_id, "client_secret": secret, "client_secret_expires_at": 0}
    return json_response({**application(record), **credentials})


async def verify_credentials(request: web.Request) -> web.Response:
    """GET /api/v1/apps/verify_credentials: the token's application (any valid token, as Mastodon 4.3)."""
    caller = await require(request)
    found = await request.app[CLIENT].query(AUTH, "app", caller.client_id)
    if found is None:
        raise not_found()
    return json_response(application(found))


def application(app: dict[str, Any]) -> dict[str, Any]:
    """Render Mastodon's Application (without its secret)."""
    return {
        "id": app["client_id"][:16],
        "name": app["name"],
        "website": app["website"],
        "scopes": app["scopes"],
        "redirect_uri": "\n".join(app["redirect_uris"]),
        "redirect_uris": app["redirect_uris"],
        "vapid_key": "",
    }
