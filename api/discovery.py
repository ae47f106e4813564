"""Discovery documents: WebFinger, host-meta, NodeInfo 2.0 / 2.1, and OAuth server metadata (RFC 8414).

WebFinger answers for local accounts only (`acct:user@our.domain`, or the account's profile or actor URL)
and points at the actor and profile URLs accounts render with. The OAuth metadata lists what this server
really supports: the code flow with PKCE S256 answered in the query string, client authentication in the
body or with HTTP Basic, and the grants Mastodon 4.3 advertises (the password grant works but, as in
Mastodon, is not advertised).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from api.config import CLIENT, CONFIG, ApiConfig, Route
from api.errors import bad_request, not_found
from api.responses import json_response
from api.scopes import SCOPES

NODEINFO = "http://nodeinfo.diaspora.software/ns/schema/{}"
SOFTWARE = {"name": "tusk", "version": "0.1.0"}


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/.well-known/webfinger", webfinger),
        ("GET", "/.well-known/host-meta", host_meta),
        ("GET", "/.well-known/nodeinfo", nodeinfo_links),
        ("GET", "/nodeinfo/2.0", nodeinfo_20),
        ("GET", "/nodeinfo/2.1", nodeinfo_21),
        ("GET", "/.well-known/oauth-authorization-server", oauth_metadata),
        ("GET", "/health", health),
    ]


async def health(request: web.Request) -> web.Response:
    """GET /health: Mastodon's liveness check for load balancers, `OK` once the app answers."""
    return web.Response(text="OK", content_type="text/plain")


async def webfinger(request: web.Request) -> web.Response:
    """GET /.well-known/webfinger?resource=acct:user@host: the account's JRD (404 unless local and known)."""
    resource = request.query.get("resource", "")
    if not resource:
        raise bad_request("Missing required parameter: resource")
    config = request.app[CONFIG]
    username = local_username(config, resource)
    account_id = await request.app[CLIENT].query("core", "account_by_username", username) if username else None
    if account_id is None:
        raise not_found()
    found = await request.app[CLIENT].query("core", "account", account_id)
    name = found["username"] if found else username
    profile, actor = f"{config.base_url}/@{name}", f"{config.base_url}/users/{name}"
    body = {
        "subject": f"acct:{name}@{config.domain}",
        "aliases": [profile, actor],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
            {"rel": "self", "type": "application/activity+json", "href": actor},
            {
                "rel": "http://ostatus.org/schema/1.0/subscribe",
                "template": f"{config.base_url}/authorize_interaction?uri={{uri}}",
            },
        ],
    }
    return _typed(body, "application/jrd+json")


def local_username(config: ApiConfig, resource: str) -> str | None:
    """Return the username a WebFinger resource names on this server, or None."""
    if resource.startswith("acct:"):
        username, _, host = resource[5:].lstrip("@").partition("@")
        return username if host.lower() == config.domain.lower() and username else None
    parts = urlsplit(resource)
    if f"{parts.scheme}://{parts.netloc}".lower() != config.base_url.lower():
        return None
    for prefix in ("/@", "/users/"):
        if parts.path.startswith(prefix) and "/" not in parts.path[len(prefix) :]:
            return parts.path[len(prefix) :] or None
    return None


async def host_meta(request: web.Request) -> web.Response:
    """GET /.well-known/host-meta: the XRD pointing at WebFinger."""
    template = escape(f"{request.app[CONFIG].base_url}/.well-known/webfinger?resource={{uri}}")
    xrd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )
    return web.Response(text=xrd, content_type="application/xrd+xml")


async def nodeinfo_links(request: web.Request) -> web.Response:
    """GET /.well-known/nodeinfo: where the NodeInfo documents are."""
    base = request.app[CONFIG].base_url
    links = [{"rel": NODEINFO.format(v), "href": f"{base}/nodeinfo/{v}"} for v in ("2.0", "2.1")]
    return json_response({"links": links})


async def nodeinfo_20(request: web.Request) -> web.Response:
    """GET /nodeinfo/2.0."""
    return await _nodeinfo(request, "2.0", SOFTWARE)


async def nodeinfo_21(request: web.Request) -> web.Response:
    """GET /nodeinfo/2.1 (its optional software repository and homepage are left out: none is public yet)."""
    return await _nodeinfo(request, "2.1", SOFTWARE)


async def oauth_metadata(request: web.Request) -> web.Response:
    """GET /.well-known/oauth-authorization-server: RFC 8414 metadata."""
    base = request.app[CONFIG].base_url
    body = {
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }
    return json_response(body)


async def _nodeinfo(request: web.Request, version: str, software: dict[str, str]) -> web.Response:
    config = request.app[CONFIG]
    client = request.app[CLIENT]
    users = await client.query("auth", "local_users")
    weeks = await client.query("auth", "activity", 26)
    logins = [week["logins"] for week in weeks]
    body: dict[str, Any] = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {
            # Active figures are token logins, capped by the user count (an upper bound on distinct users).
            "users": {
                "total": users,
                "activeMonth": min(users, sum(logins[:5])),
                "activeHalfyear": min(users, sum(logins)),
            },
            "localPosts": 0,  # not counted anywhere yet
        },
        "openRegistrations": config.registrations_open,
        "metadata": {"nodeName": config.title, "nodeDescription": config.description},
    }
    return _typed(body, f'application/json; profile="{NODEINFO.format(version)}#"')


def _typed(body: dict[str, Any], content_type: str) -> web.Response:
    response = web.Response(body=orjson.dumps(body))
    response.headers["Content-Type"] = content_type
    return response
