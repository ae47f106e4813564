"""What a Status carries or sits beside: Poll, MediaAttachment, mention, StatusEdit, ScheduledStatus, Conversation.

Each takes what a core query returns (`poll`, `media`, `status_history`, `scheduled_statuses`,
`direct_conversations`) and the accounts or attachments already rendered, and returns Mastodon's JSON
shape with every key present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.entities import Entity, iso
from api.status_html import content
from modules.core.ids import render


def mention(base_url: str, account: Mapping[str, Any]) -> Entity:
    """Render a Status' mention of a local core account."""
    username = account["username"]
    return {"id": render(account["id"]), "username": username, "url": f"{base_url}/@{username}", "acct": username}


def poll(found: Mapping[str, Any], *, signed_in: bool) -> Entity:
    """Render a Poll from core's `poll` query; `voted` and `own_votes` only for a signed-in viewer."""
    rendered: Entity = {
        "id": render(found["id"]),
        "expires_at": iso(found["expires_at"]),
        "expired": found["expired"],
        "multiple": found["multiple"],
        "votes_count": found["votes_count"],
        "voters_count": found["voters_count"],
        "options": [{"title": o["title"], "votes_count": o["votes_count"]} for o in found["options"]],
        "emojis": [],
    }
    if signed_in:
        rendered.update(voted=found["voted"], own_votes=found["own_votes"])
    return rendered


def status_edit(revision: Mapping[str, Any], account: Entity, media: Mapping[int, Entity], base_url: str) -> Entity:
    """Render a StatusEdit: one revision from core's `status_history`."""
    found_poll = revision.get("poll")
    return {
        "content": content(revision["text"], {}, base_url),
        "spoiler_text": revision["spoiler_text"],
        "sensitive": revision["sensitive"],
        "created_at": iso(revision["created_at"]),
        "account": account,
        "poll": None if found_poll is None else {"options": [{"title": t} for t in found_poll["options"]]},
        "media_attachments": [media[m] for m in revision["media"] if m in media],
        "emojis": [],
    }


def scheduled_status(entry: Mapping[str, Any], media: Mapping[int, Entity]) -> Entity:
    """Render a ScheduledStatus from a core scheduled entry (its params are the create record's fields)."""
    params = entry["params"]
    reply = params.get("in_reply_to")
    media_ids = params.get("media") or []
    return {
        "id": render(entry["id"]),
        "scheduled_at": iso(entry["scheduled_at"]),
        "params": {
            "text": params["text"],
            "visibility": params.get("visibility", "public"),
            "spoiler_text": params.get("spoiler_text") or None,
            "sensitive": params.get("sensitive"),
            "language": params.get("language"),
            "in_reply_to_id": None if reply is None else render(reply),
            "media_ids": [render(m) for m in media_ids] or None,
            "poll": params.get("poll"),
            "scheduled_at": None,
            "idempotency": entry["uuid"],
            "application_id": 0,  # deprecated: Mastodon's internal app id, kept for old clients
            "with_rate_limit": False,
        },
        "media_attachments": [media[m] for m in media_ids if m in media],
    }


def conversation(entry: Mapping[str, Any], accounts: list[Entity], last_status: Entity | None) -> Entity:
    """Render a Conversation from a core direct-conversation entry."""
    return {
        "id": render(entry["conversation"]),
        "unread": entry["unread"],
        "accounts": accounts,
        "last_status": last_status,
    }
