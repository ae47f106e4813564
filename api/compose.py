"""What a client composes, read into core's create / edit fields: text, media, poll, mentions, schedule.

Mastodon's parameters (`status`, `media_ids[]`, `poll[options][]`, `poll[expires_in]`, `poll[multiple]`,
`poll[hide_totals]`, `sensitive`, `spoiler_text`, `language`, `visibility`, `in_reply_to_id`,
`scheduled_at`) arrive as form fields or JSON alike (`api.params`). Core validates the fields again and
its refusal is the 422 a client sees; what is checked here is only what core cannot know: that ids are
ids, that `scheduled_at` is a time, which `@names` in the text are accounts of this server.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.config import CLIENT, CONFIG
from api.errors import ApiError, unprocessable
from api.params import Params
from modules.core.ids import parse
from modules.core.records import VISIBILITIES

CORE = "core"
MAX_KEY_CHARS = 64  # core's uuid limit: longer keys are hashed down to it
MAX_TEXT = 5_000  # core enforces the real limit (500); this only bounds what is read
MENTION = re.compile(r"(?<![\w/@])@([A-Za-z0-9_]+)(?:@([\w.:-]+\w))?")
MAX_MENTIONS = 50
DEFAULT_POLL_SECONDS = 86_400


def content_fields(params: Params) -> dict[str, Any]:
    """Return the editable fields of a create or an edit: text, spoiler_text, sensitive, language, media, poll."""
    text = params.string("status", most=MAX_TEXT) or ""
    media = [parse_id(m, "media_ids") for m in params.strings("media_ids", most=10)]
    poll = poll_spec(params)
    if not text.strip() and not media:
        raise unprocessable("Text can't be blank")
    fields: dict[str, Any] = {"text": text, "media": media, "poll": poll}
    spoiler = params.string("spoiler_text", most=MAX_TEXT)
    if spoiler:
        fields["spoiler_text"] = spoiler
    if params.has("sensitive"):
        fields["sensitive"] = params.boolean("sensitive")
    language = params.string("language", most=16)
    if language:
        fields["language"] = language
    return fields


def poll_spec(params: Params) -> dict[str, Any] | None:
    """Return core's poll spec from `poll[...]`, or None without options."""
    poll = params.nested("poll")
    options = poll.strings("options", most=20)
    if not options:
        return None
    expires_in = poll.string("expires_in", most=12)
    if expires_in is not None and not expires_in.isdigit():
        raise unprocessable("poll[expires_in] must be a number of seconds")
    return {
        "options": options,
        "expires_in": int(expires_in) if expires_in else DEFAULT_POLL_SECONDS,
        "multiple": poll.boolean("multiple"),
        "hide_totals": poll.boolean("hide_totals"),
    }


def visibility(params: Params) -> str:
    """Return the requested visibility (public by default)."""
    value = params.string("visibility", most=16) or "public"
    if value not in VISIBILITIES:
        raise unprocessable(f"visibility must be one of {', '.join(VISIBILITIES)}")
    return value


def scheduled_at_ms(params: Params) -> int | None:
    """Return `scheduled_at` in ms, None if absent; Mastodon answers "Record invalid" for an unreadable time."""
    text = params.string("scheduled_at", most=64)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "Record invalid") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


async def mentions(request: web.Request, text: str) -> list[int]:
    """Return the ids of this server's accounts named `@user` (or `@user@our.domain`) in `text`."""
    domain = request.app[CONFIG].domain.lower()
    names = {user.lower(): None for user, host in MENTION.findall(text) if not host or host.lower() == domain}
    lookups = [request.app[CLIENT].query(CORE, "account_by_username", name) for name in list(names)[:MAX_MENTIONS]]
    found = await asyncio.gather(*lookups)
    return sorted({int(account) for account in found if account is not None})


def request_uuid(request: web.Request, prefix: str = "api") -> str:
    """Return the core uuid of this request: its `Idempotency-Key` (hashed if long), else a fresh one."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return f"{prefix}-{uuid.uuid4()}"
    return key if len(key) <= MAX_KEY_CHARS else hashlib.sha256(key.encode()).hexdigest()


def parse_id(text: str, name: str) -> int:
    """Return the id `text` names (a 422 naming parameter `name` if it is not one)."""
    if not text.isdigit() or len(text) > 19:
        raise unprocessable(f"{name} must be ids")
    return parse(text)
