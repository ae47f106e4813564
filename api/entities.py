"""Mastodon entities rendered from module values: every key Mastodon sends, null or empty where we have none.

`account` takes a core account and its counts; `status` takes a hydrated core status (its `account` inside)
and the rendered account. Text is plain in core; `content` is its HTML: escaped, paragraphs on blank lines,
`<br />` on single newlines (what Mastodon makes of a plain-text post).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from api.config import ApiConfig
from modules.core.ids import render

Entity = dict[str, Any]
MISSING_AVATAR = "/avatars/original/missing.png"
MISSING_HEADER = "/headers/original/missing.png"


def iso(ms: int) -> str:
    """Return a ms timestamp as Mastodon's ISO 8601 (UTC, milliseconds, `Z`)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def content_html(text: str) -> str:
    """Return plain `text` as escaped HTML paragraphs."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br />')}</p>" for p in paragraphs)


def account(config: ApiConfig, found: dict[str, Any], counts: dict[str, int]) -> Entity:
    """Render Mastodon's Account."""
    username, base = found["username"], config.base_url
    avatar, header = base + MISSING_AVATAR, base + MISSING_HEADER
    created = iso(found["created_at"] - found["created_at"] % 86_400_000)  # Mastodon shows the day
    return {
        "id": render(found["id"]),
        "username": username,
        "acct": username,
        "url": f"{base}/@{username}",
        "uri": f"{base}/users/{username}",
        "display_name": found["display_name"],
        "note": content_html(found["note"]),
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": "",
        "header": header,
        "header_static": header,
        "header_description": "",
        "locked": found["locked"],
        "bot": found["bot"],
        "group": False,
        "discoverable": None,
        "indexable": False,
        "hide_collections": None,
        "noindex": None,
        "created_at": created,
        "last_status_at": None,
        "statuses_count": counts.get("statuses_count", 0),
        "followers_count": counts.get("followers_count", 0),
        "following_count": counts.get("following_count", 0),
        "fields": [{**field, "verified_at": None} for field in found["fields"]],
        "emojis": [],
        "roles": [],
        "memorial": None,
        "moved": None,
        "suspended": None,
        "limited": None,
        "feature_approval": None,
        "show_featured": None,
        "show_media": None,
        "show_media_replies": None,
    }


def credential_account(config: ApiConfig, found: dict[str, Any], counts: dict[str, int]) -> Entity:
    """Render Mastodon's CredentialAccount: an Account with its `source` and `role`."""
    source = {
        "privacy": "public",
        "sensitive": False,
        "language": None,
        "note": found["note"],
        "fields": found["fields"],
        "follow_requests_count": counts.get("follow_requests_count", 0),
        "hide_collections": None,
        "discoverable": None,
        "indexable": False,
    }
    role = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return {**account(config, found, counts), "source": source, "role": role}


def status(config: ApiConfig, found: dict[str, Any], author: Entity, *, with_source: bool = False) -> Entity:
    """Render Mastodon's Status for a hydrated core status and its rendered author."""
    reply_to, reply_account = found.get("in_reply_to"), found.get("in_reply_to_account")
    status_id = render(found["id"])
    return {
        "id": status_id,
        "uri": f"{config.base_url}/users/{author['username']}/statuses/{status_id}",
        "url": f"{config.base_url}/@{author['username']}/{status_id}",
        "created_at": iso(found["created_at"]),
        "edited_at": None,
        "account": author,
        "content": content_html(found["text"]),
        "text": found["text"] if with_source else None,
        "visibility": found["visibility"],
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": [],
        "application": None,
        "mentions": [],
        "tags": [],
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "quotes_count": 0,
        "in_reply_to_id": None if reply_to is None else render(reply_to),
        "in_reply_to_account_id": None if reply_account is None else render(reply_account),
        "reblog": None,
        "poll": None,
        "card": None,
        "quote": None,
        "quote_approval": None,
        "language": found.get("language"),
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "filtered": [],
        "tagged_collections": [],
    }


def relationship(found: dict[str, Any]) -> Entity:
    """Render Mastodon's Relationship from the relationships module's (ids as strings)."""
    return {**found, "id": render(found["id"])}


def muted_account(rendered: Entity, expires_at_ms: int | None) -> Entity:
    """Render Mastodon's MutedAccount: an Account with when its mute ends (None: never)."""
    return {**rendered, "mute_expires_at": None if expires_at_ms is None else iso(expires_at_ms)}


def familiar_followers(account_id: int, accounts: list[Entity]) -> Entity:
    """Render Mastodon's FamiliarFollowers: who, among the caller's follows, follows `account_id`."""
    return {"id": render(account_id), "accounts": accounts}


def search_results(accounts: list[Entity], statuses: list[Entity], hashtags: list[Entity]) -> Entity:
    """Render Mastodon's Search (v2)."""
    return {"accounts": accounts, "statuses": statuses, "hashtags": hashtags}


def notification(found: dict[str, Any], account: Entity, status: Entity | None) -> Entity:
    """Return a Notification from a notifications module value and its rendered account and status."""
    rendered: Entity = {
        "id": render(found["id"]),
        "type": found["type"],
        "created_at": iso(found["created_at"]),
        "group_key": found["group_key"],
        "account": account,
    }
    if status is not None:
        rendered["status"] = status
    return rendered


def notification_group(found: dict[str, Any]) -> Entity:
    """Return a NotificationGroup (`/api/v2/notifications`) from a notifications module group."""
    return {
        "group_key": found["group_key"],
        "notifications_count": found["notifications_count"],
        "type": found["type"],
        "most_recent_notification_id": found["most_recent_notification_id"],  # a number in Mastodon's API
        "page_min_id": render(found["page_min_id"]),
        "page_max_id": render(found["page_max_id"]),
        "latest_page_notification_at": iso(found["latest_page_notification_at"]),
        "sample_account_ids": [render(account) for account in found["sample_account_ids"]],
        "status_id": None if found["status"] is None else render(found["status"]),
    }


def marker(found: dict[str, Any]) -> Entity:
    """Return a Marker from a notifications module marker."""
    return {
        "last_read_id": render(found["last_read_id"]),
        "version": found["version"],
        "updated_at": iso(found["updated_at"]),
    }
