"""Mastodon entities rendered from module values: every key Mastodon sends, null or empty where we have none.

`account` takes a core account and its counts; `status` takes a hydrated core status (its `account` inside)
and the rendered account. Text is plain in core; `content` is its HTML: escaped, paragraphs on blank lines,
`<br />` on single newlines (what Mastodon makes of a plain-text post).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from api import status_html
from api.config import ApiConfig
from modules.core.ids import render
from modules.core.text import normalize_tag

Entity = dict[str, Any]
MISSING_AVATAR = "/avatars/original/missing.png"
MISSING_HEADER = "/headers/original/missing.png"
# A boost shows the viewer's marks on its original, as Mastodon's serializer reads them off `status.proper`.
BOOST_FLAGS = ("favourited", "reblogged", "bookmarked", "muted")


def iso(ms: int) -> str:
    """Return a ms timestamp as Mastodon's ISO 8601 (UTC, milliseconds, `Z`)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _day(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def content_html(text: str) -> str:
    """Return plain `text` as escaped HTML paragraphs."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br />')}</p>" for p in paragraphs)


def account(config: ApiConfig, found: dict[str, Any], counts: dict[str, int]) -> Entity:
    """Render Mastodon's Account."""
    username, base = found["username"], config.base_url
    avatar, header = found.get("avatar") or base + MISSING_AVATAR, found.get("header") or base + MISSING_HEADER
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
        "avatar_static": found.get("avatar_static") or avatar,
        "avatar_description": "",
        "header": header,
        "header_static": found.get("header_static") or header,
        "header_description": "",
        "locked": found["locked"],
        "bot": found["bot"],
        "group": False,
        "discoverable": found.get("discoverable"),
        "indexable": False,
        "hide_collections": None,
        "noindex": None,
        "created_at": created,
        "last_status_at": _day(found.get("last_status_at")),
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
        "privacy": found.get("privacy", "public"),
        "sensitive": found.get("sensitive", False),
        "language": found.get("language"),
        "note": found["note"],
        "fields": found["fields"],
        "follow_requests_count": counts.get("follow_requests_count", 0),
        "hide_collections": None,
        "discoverable": found.get("discoverable"),
        "indexable": False,
    }
    role = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return {**account(config, found, counts), "source": source, "role": role}


@dataclass(frozen=True, slots=True)
class StatusParts:
    """What a page of hydrated statuses refers to, rendered once for the page (`render.statuses`)."""

    accounts: dict[int, Entity]  # authors, by id
    mentioned: dict[int, Entity]  # StatusMentions, by account id
    media: dict[int, Entity]  # MediaAttachments, by media id
    polls: dict[int, Entity]  # Polls, by status id
    signed_in: bool = False


def status(config: ApiConfig, found: dict[str, Any], parts: StatusParts, *, with_source: bool = False) -> Entity:
    """Render Mastodon's Status from a hydrated core status (a boost's original nested under `reblog`)."""
    reply_to, reply_account = found.get("in_reply_to"), found.get("in_reply_to_account")
    author = parts.accounts[found["author"]]
    status_id = render(found["id"])
    mentions = [parts.mentioned[m] for m in found.get("mentions", []) if m in parts.mentioned]
    by_name = {m["username"].lower(): m for m in mentions}
    edited = found.get("edited_at")
    reblog = found.get("reblog")
    marks = found if reblog is None else {**found, **{k: reblog[k] for k in BOOST_FLAGS if k in reblog}}
    return {
        "id": status_id,
        "uri": f"{config.base_url}/users/{author['username']}/statuses/{status_id}",
        "url": f"{config.base_url}/@{author['username']}/{status_id}",
        "created_at": iso(found["created_at"]),
        "edited_at": None if edited is None else iso(edited),
        "account": author,
        "content": status_html.content(found["text"], by_name, config.base_url),
        "text": found["text"] if with_source else None,
        "visibility": found["visibility"],
        "sensitive": bool(found.get("sensitive", False)),
        "spoiler_text": found.get("spoiler_text", ""),
        "media_attachments": [parts.media[m] for m in found.get("media", []) if m in parts.media],
        "application": None,
        "mentions": mentions,
        "tags": [status_tag(config, name) for name in found.get("tags") or ()],
        "emojis": [],
        "reblogs_count": found.get("reblogs_count", 0),
        "favourites_count": found.get("favourites_count", 0),
        "replies_count": found.get("replies_count", 0),
        "quotes_count": 0,
        "in_reply_to_id": None if reply_to is None else render(reply_to),
        "in_reply_to_account_id": None if reply_account is None else render(reply_account),
        "reblog": None if reblog is None else status(config, reblog, parts),
        "poll": parts.polls.get(found["id"]) if found.get("poll") is not None else None,
        "card": None,
        "quote": None,
        "quote_approval": None,
        "language": found.get("language"),
        "favourited": marks.get("favourited", False),
        "reblogged": marks.get("reblogged", False),
        "muted": marks.get("muted", False),
        "bookmarked": marks.get("bookmarked", False),
        "pinned": found.get("pinned", False),
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


def tag_url(config: ApiConfig, name: str) -> str:
    """Return the instance's page of hashtag `name`."""
    return f"{config.base_url}/tags/{quote(name)}"


def status_tag(config: ApiConfig, name: str) -> Entity:
    """Render a Status' tag: its name and the instance's page of it."""
    return {"name": name, "url": tag_url(config, name)}


def tag(
    config: ApiConfig, found: dict[str, Any], *, following: bool | None = None, featuring: bool | None = None
) -> Entity:
    """Render Mastodon's Tag from the trends module's `tag` (or a trending entry): name and 7-day history.

    The id is the normalized name: tags have no numeric id here, and the name is unique and stable.
    """
    name = found.get("name") or found["key"]
    return {
        "id": name,
        "name": name,
        "url": tag_url(config, name),
        "history": found["history"],
        "following": following,
        "featuring": featuring,
    }


def featured_tag(config: ApiConfig, username: str, found: dict[str, Any]) -> Entity:
    """Render Mastodon's FeaturedTag from the trends module's; its id is the normalized tag name."""
    last = found.get("last_status_at")
    return {
        "id": normalize_tag(found["name"]),
        "name": found["name"],
        "url": f"{config.base_url}/@{username}/tagged/{quote(found['name'])}",
        "statuses_count": str(found["statuses_count"]),
        "last_status_at": None if last is None else iso(last)[:10],  # Mastodon gives the day
    }


def trends_link(found: dict[str, Any]) -> Entity:
    """Render Mastodon's TrendsLink: a preview card of the URL (nothing is fetched yet) and its history."""
    url = found["key"]
    host = urlsplit(url).hostname or ""
    return {
        "url": url,
        "title": url,
        "description": "",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "authors": [],
        "provider_name": host,
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "image_description": "",
        "embed_url": "",
        "blurhash": None,
        "published_at": None,
        "history": found["history"],
    }


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
