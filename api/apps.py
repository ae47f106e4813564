"""OAuth applications: `POST /api/v1/apps`."""

from __future__ import annotations

import secrets

from aiohttp import web

from api.config import CLIENT, Route
from api.errors import unprocessable
from api.oauth import AUTH, digest, new_secret, parse_scopes
from api.params import read_params
from api.responses import json_response

OOB = "urn:ietf:wg:oauth:2.0:oob"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("POST", "/api/v1/apps", create)]


async def create(request: web.Request) -> web.Response:
    """Register a client application and return it with its client_id and client_secret."""
    params = await read_params(request)
    name = params.required("client_name", most=255)
    uris = params.strings("redirect_uris", most=16) or (params.required("redirect_uris", most=2_000).split())
    if not all(uri == OOB or uri.startswith(("http://", "https://")) or ":" in uri for uri in uris):
        raise unprocessable("redirect_uri must be an absolute URI")
    scopes = parse_scopes(params.string("scopes", most=1_000))
    website = params.string("website", most=2_000) or None
    client_id, secret = secrets.token_urlsafe(32), new_secret()
    record = {
        "client_id": client_id,
        "secret_hash": digest(secret),
        "name": name,
        "redirect_uris": uris,
        "scopes": scopes,
        "website": website,
    }
    await request.app[CLIENT].append(AUTH, "*apps", record)
    return json_response(
        {
            "id": client_id[:16],
            "name": name,
            "website": website,
            "scopes": scopes,
            "redirect_uri": "\n".join(uris),
            "redirect_uris": uris,
            "client_id": client_id,
            "client_secret": secret,
            "client_secret_expires_at": 0,
            "vapid_key": "",
        }
    )
