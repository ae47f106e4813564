"""Entities of the per-account rules: List, Filter (v2 and v1), FilterKeyword, FilterStatus, Tag, Suggestion.

Rendered from the relationships module's values; ids leave as strings. A Tag's id is its normalized name
(tags have no numeric id here); its `history` stays empty until the trends module answers for it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from api.config import ApiConfig
from api.entities import Entity, iso
from modules.core.ids import render


def list_entity(found: dict[str, Any]) -> Entity:
    """Render Mastodon's List."""
    return {
        "id": render(found["id"]),
        "title": found["title"],
        "replies_policy": found["replies_policy"],
        "exclusive": found["exclusive"],
    }


def filter_keyword(found: dict[str, Any]) -> Entity:
    """Render Mastodon's FilterKeyword."""
    return {"id": render(found["id"]), "keyword": found["keyword"], "whole_word": found["whole_word"]}


def filter_status(found: dict[str, Any]) -> Entity:
    """Render Mastodon's FilterStatus."""
    return {"id": render(found["id"]), "status_id": render(found["status_id"])}


def filter_entity(found: dict[str, Any]) -> Entity:
    """Render Mastodon's (v2) Filter with its keywords and statuses."""
    expires_at = found.get("expires_at")
    return {
        "id": render(found["id"]),
        "title": found["title"],
        "context": found["context"],
        "expires_at": None if expires_at is None else iso(expires_at),
        "filter_action": found["filter_action"],
        "keywords": [filter_keyword(k) for k in found.get("keywords", [])],
        "statuses": [filter_status(s) for s in found.get("statuses", [])],
    }


def v1_filter(found: dict[str, Any], keyword: dict[str, Any]) -> Entity:
    """Render Mastodon's V1::Filter: one keyword of a filter, its `phrase`; `irreversible` means `hide`."""
    expires_at = found.get("expires_at")
    return {
        "id": render(keyword["id"]),
        "phrase": keyword["keyword"],
        "context": found["context"],
        "whole_word": keyword["whole_word"],
        "expires_at": None if expires_at is None else iso(expires_at),
        "irreversible": found["filter_action"] == "hide",
    }


def tag_entity(config: ApiConfig, name: str, *, following: bool | None) -> Entity:
    """Render Mastodon's Tag for a normalized hashtag name."""
    return {
        "id": name,
        "name": name,
        "url": f"{config.base_url}/tags/{quote(name)}",
        "history": [],
        "following": following,
    }


def suggestion(found: dict[str, Any], account: Entity) -> Entity:
    """Render Mastodon's Suggestion: the account, why (`sources`), and 4.3's deprecated single `source`."""
    return {"source": found["source"], "sources": found["sources"], "account": account}
