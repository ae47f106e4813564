"""Instance metadata: `/api/v1/instance`, `/api/v2/instance` and `/api/v1/instance/*`.

Figures come from module queries: local users and weekly registrations / logins from the auth module's
counters. Statuses are not counted anywhere yet (core keeps per-author counts only), so status counts read
0; peers and domain counts are empty until federation exists. A "login" is a user token issued that week.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from aiohttp import web

from api.config import CLIENT, CONFIG, VERSION, ApiConfig, Route
from api.responses import json_response
from modules.core.records import Limits

AUTH = "auth"
MEDIA_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]
ACTIVITY_WEEKS = 12
LANGUAGES = {"en": "English"}


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("GET", "/api/v1/instance", v1),
        ("GET", "/api/v2/instance", v2),
        ("GET", "/api/v1/instance/rules", rules),
        ("GET", "/api/v1/instance/peers", peers),
        ("GET", "/api/v1/instance/activity", activity),
        ("GET", "/api/v1/instance/extended_description", extended_description),
        ("GET", "/api/v1/instance/languages", languages),
        ("GET", "/api/v1/instance/translation_languages", translation_languages),
    ]


async def v1(request: web.Request) -> web.Response:
    """GET /api/v1/instance (deprecated by Mastodon, still read by many clients)."""
    config = request.app[CONFIG]
    users = await request.app[CLIENT].query(AUTH, "local_users")
    body = {
        "uri": config.domain,
        "title": config.title,
        "short_description": config.description,
        "description": config.description,
        "email": config.contact_email,
        "version": VERSION,
        "urls": {"streaming_api": streaming_url(config)},
        "stats": {"user_count": users, "status_count": 0, "domain_count": 0},
        "thumbnail": None,
        "languages": list(LANGUAGES),
        "registrations": config.registrations_open,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": configuration(config),
        "contact_account": None,
        "rules": rule_entities(config),
    }
    return json_response(body)


async def v2(request: web.Request) -> web.Response:
    """GET /api/v2/instance."""
    config = request.app[CONFIG]
    active = await request.app[CLIENT].query(AUTH, "activity", 5)
    urls = {"streaming": streaming_url(config), "status": None, "about": f"{config.base_url}/about"}
    urls |= {"privacy_policy": None, "terms_of_service": None}
    body = {
        "domain": config.domain,
        "title": config.title,
        "version": VERSION,
        "source_url": "",  # no public repository address yet
        "description": config.description,
        # Logins are counted per token, not per distinct user: an upper bound, capped by the user count.
        "usage": {"users": {"active_month": await _active_month(request, active)}},
        "thumbnail": {"url": f"{config.base_url}/thumbnail.png", "blurhash": None, "versions": {}},
        "icon": [],
        "languages": list(LANGUAGES),
        "configuration": {**configuration(config), "urls": urls, "vapid": {"public_key": ""}},
        "registrations": {
            "enabled": config.registrations_open,
            "approval_required": False,
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": config.contact_email, "account": None},
        "rules": rule_entities(config),
    }
    return json_response(body)


async def rules(request: web.Request) -> web.Response:
    """GET /api/v1/instance/rules."""
    return json_response(rule_entities(request.app[CONFIG]))


async def peers(request: web.Request) -> web.Response:
    """GET /api/v1/instance/peers: the domains this server knows (none until federation)."""
    return json_response([])


async def activity(request: web.Request) -> web.Response:
    """GET /api/v1/instance/activity: the last 12 weeks, newest first, figures as strings (as Mastodon)."""
    weeks = await request.app[CLIENT].query(AUTH, "activity", ACTIVITY_WEEKS)
    body = [
        {"week": str(w["week"]), "statuses": "0", "logins": str(w["logins"]), "registrations": str(w["registrations"])}
        for w in weeks
    ]
    return json_response(body)


async def extended_description(request: web.Request) -> web.Response:
    """GET /api/v1/instance/extended_description."""
    config = request.app[CONFIG]
    content = f"<p>{escape(config.description)}</p>" if config.description else ""
    return json_response({"updated_at": _iso(0), "content": content})


async def languages(request: web.Request) -> web.Response:
    """GET /api/v1/instance/languages: the languages a post may be tagged with."""
    return json_response([{"code": code, "name": name} for code, name in LANGUAGES.items()])


async def translation_languages(request: web.Request) -> web.Response:
    """GET /api/v1/instance/translation_languages: none (no translation service)."""
    return json_response({})


def configuration(config: ApiConfig) -> dict[str, Any]:
    """Return the limits clients adapt to."""
    limits = Limits()
    return {
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {
            "max_characters": limits.status_chars,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": MEDIA_TYPES,
            "image_size_limit": 16_777_216,
            "image_matrix_limit": 33_177_600,
            "video_size_limit": 103_809_024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8_294_400,
        },
        "polls": {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2_629_746,
        },
        "translation": {"enabled": False},
    }


def rule_entities(config: ApiConfig) -> list[dict[str, str]]:
    """Return the configured rules as Mastodon's Rule entities (ids are their positions)."""
    return [{"id": str(n), "text": text, "hint": ""} for n, text in enumerate(config.rules, start=1)]


def streaming_url(config: ApiConfig) -> str:
    """Return the streaming API's base URL: the server's own, as ws:// or wss://."""
    return config.base_url.replace("http", "ws", 1)


async def _active_month(request: web.Request, weeks: list[dict[str, Any]]) -> int:
    logins = sum(week["logins"] for week in weeks)
    return int(min(logins, await request.app[CLIENT].query(AUTH, "local_users")))


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
