"""Instance metadata: `/api/v1/instance` and `/api/v2/instance`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.config import CONFIG, VERSION, ApiConfig, Route
from api.responses import json_response
from modules.core.records import Limits

MEDIA_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/api/v1/instance", v1), ("GET", "/api/v2/instance", v2)]


async def v1(request: web.Request) -> web.Response:
    """GET /api/v1/instance (deprecated by Mastodon, still read by many clients)."""
    config = request.app[CONFIG]
    body = {
        "uri": config.domain,
        "title": config.title,
        "short_description": config.description,
        "description": config.description,
        "email": config.contact_email,
        "version": VERSION,
        "urls": {"streaming_api": _streaming(config)},
        "stats": {"user_count": 0, "status_count": 0, "domain_count": 0},
        "thumbnail": None,
        "languages": ["en"],
        "registrations": config.registrations_open,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": configuration(config),
        "contact_account": None,
        "rules": [],
    }
    return json_response(body)


async def v2(request: web.Request) -> web.Response:
    """GET /api/v2/instance."""
    config = request.app[CONFIG]
    body = {
        "domain": config.domain,
        "title": config.title,
        "version": VERSION,
        "source_url": "",
        "description": config.description,
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": f"{config.base_url}/thumbnail.png", "blurhash": None, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": {**configuration(config), "urls": {"streaming": _streaming(config), "status": None}},
        "registrations": {"enabled": config.registrations_open, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": config.contact_email, "account": None},
        "rules": [],
    }
    return json_response(body)


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


def _streaming(config: ApiConfig) -> str:
    return config.base_url.replace("http", "ws", 1)
