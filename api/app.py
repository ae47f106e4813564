"""The aiohttp application: routes from one file per resource, errors, CORS, optional trailing slashes.

Every route is registered with and without a trailing slash (Mastodon's clients use both; a redirect
would lose a POST body). Errors leave as `{"error": ...}`: `ApiError` with its status, a record a module
rejected as 422 with the module's reason, aiohttp's own (404, 405, 413) with their status.
"""

from __future__ import annotations

import logging

from aiohttp import web

from api import (
    account_lists,
    accounts,
    announcements,
    apps,
    authorize,
    conversations,
    credentials,
    custom_emojis,
    directory,
    discovery,
    endorsements,
    familiar_followers,
    featured_tags,
    filters,
    filters_v1,
    follow_requests,
    followed_tags,
    instance,
    lists,
    markers,
    media,
    notification_requests,
    notifications,
    oauth,
    polls,
    preferences,
    rate_limits,
    relationships,
    reports,
    scheduled_statuses,
    search,
    status_actions,
    status_lists,
    status_reads,
    statuses,
    streaming,
    suggestions,
    tags,
    timelines,
    trends,
)
from api.config import CLIENT, CONFIG, ApiConfig, Handler
from api.errors import ApiError, rejection
from api.responses import json_response
from cluster.client import ClusterClient
from topology.context import RecordRejected

log = logging.getLogger(__name__)

RESOURCES = (
    instance,
    apps,
    accounts,
    statuses,
    timelines,
    notification_requests,  # before notifications: its fixed paths must win over `notifications/{id}`
    notifications,
    markers,
    streaming,
    media,
    tags,
    trends,
    featured_tags,
    directory,
)
STATUS_RESOURCES = (status_actions, status_reads, polls, scheduled_statuses, status_lists, conversations)
ACCOUNT_RESOURCES = (credentials, relationships, account_lists, follow_requests, familiar_followers, search, reports)
RULE_RESOURCES = (lists, filters, filters_v1, followed_tags, endorsements, suggestions)
DISCOVERY = (oauth, authorize, discovery, preferences, announcements, custom_emojis)
EXPOSED = "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id, Idempotency-Key"
METHODS = "GET, POST, PUT, DELETE, PATCH, OPTIONS"


def build_app(client: ClusterClient, config: ApiConfig | None = None) -> web.Application:
    """Return the Mastodon API application over `client`."""
    app = web.Application(middlewares=[cors, rate_limits.rate_limited, errors], client_max_size=16 << 20)
    app[CLIENT] = client
    app[CONFIG] = config or ApiConfig()
    rate_limits.install(app)
    streaming.install(app)
    media.install(app, client, app[CONFIG])
    routes = []
    for resource in RESOURCES + STATUS_RESOURCES + ACCOUNT_RESOURCES + RULE_RESOURCES + DISCOVERY:
        routes += resource.routes()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
        app.router.add_route(method, path + "/", handler)
    return app


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into Mastodon's error body."""
    try:
        response: web.StreamResponse = await handler(request)
    except ApiError as error:
        return json_response(error.body(), status=error.status)
    except RecordRejected as rejected:
        refusal = rejection(rejected)
        return json_response(refusal.body(), status=refusal.status)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_response({"error": error.reason}, status=error.status, headers=_allow(error))
    return response


@web.middleware
async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer preflights and mark every response as readable cross-origin, exposing `Link` (as Mastodon)."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=200)
        response.headers["Access-Control-Allow-Methods"] = METHODS
        response.headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Authorization, Content-Type, Idempotency-Key"
        )
        response.headers["Access-Control-Max-Age"] = "7200"
    else:
        response = await handler(request)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    return response


def _allow(error: web.HTTPException) -> dict[str, str]:
    allow = error.headers.get("Allow")
    return {"Allow": allow} if allow else {}
