"""`PATCH /api/v1/accounts/update_credentials`: the caller edits their profile; answers a CredentialAccount.

Profile fields (`display_name`, `note`, `locked`, `bot`, `fields_attributes`) go to core's `*accounts`
as one update record, which validates them (limits live in the module: a breach is a 422). `locked`
also goes to relationships' `*account_settings`, which decides whether follows become requests (and
accepts the pending ones on unlock). Parameters arrive as JSON (`{"source": {"privacy": ...}}`,
`fields_attributes` as a list or an indexed object) or as form fields (`source[privacy]`,
`fields_attributes[0][name]`).

Preferences (`source[privacy|sensitive|language]`, `discoverable`) go to the account in the same record.
`avatar` / `header` (multipart only) are processed and stored as media (profile_images.py); the account
keeps their URLs. Not stored, because no module keeps them: `indexable` and `hide_collections` are
validated and otherwise ignored.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from api.config import CLIENT, Route
from api.errors import unprocessable
from api.lookups import account_or_404
from api.params import Params, read_params
from api.profile_images import read_profile_form
from api.responses import json_response
from api.scopes import require_user
from modules.core.records import LANGUAGE

CORE, RELATIONSHIPS = "core", "relationships"
TEXTS = ("display_name", "note")
FLAGS = ("locked", "bot")
IGNORED_FLAGS = ("indexable", "hide_collections")
PRIVACY = frozenset({"public", "unlisted", "private"})
MAX_FIELDS = 16  # the module enforces its own (smaller) limit; this only bounds the parsing


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("PATCH", "/api/v1/accounts/update_credentials", update_credentials)]


async def update_credentials(request: web.Request) -> web.Response:
    """PATCH /api/v1/accounts/update_credentials."""
    caller = await require_user(request, "write:accounts")
    with tempfile.TemporaryDirectory(prefix="tusk-profile-") as work:
        if request.content_type == "multipart/form-data":
            params, images = await read_profile_form(request, Path(work))
        else:
            params, images = await read_params(request), {}
    changes = profile_changes(params) | preference_changes(params) | images
    check_unstored(params)
    client = request.app[CLIENT]
    if changes:
        await client.append(CORE, "*accounts", {"op": "update", "account": caller, **changes})
    if "locked" in changes:
        await client.append(RELATIONSHIPS, "*account_settings", {"account": caller, "locked": changes["locked"]})
    return json_response(await account_or_404(request, caller, credential=True))


def profile_changes(params: Params) -> dict[str, Any]:
    """Return the profile fields given, as core's update record spells them."""
    changes: dict[str, Any] = {}
    for name in TEXTS:
        if params.has(name):
            changes[name] = params.string(name) or ""
    for flag in FLAGS:
        if params.has(flag):
            changes[flag] = params.boolean(flag)
    if "fields_attributes" in params.names():
        changes["fields"] = profile_fields(params.nested("fields_attributes"))
    return changes


def profile_fields(attributes: Params) -> list[dict[str, str]]:
    """Return the name / value pairs of `fields_attributes`, in index order, blank pairs dropped (as Mastodon)."""
    indexes = attributes.names()
    if len(indexes) > MAX_FIELDS:
        raise unprocessable(f"at most {MAX_FIELDS} profile fields")
    fields = []
    for index in sorted(indexes, key=_index_order):
        pair = attributes.nested(index)
        name, value = pair.string("name") or "", pair.string("value") or ""
        if name.strip() or value.strip():
            fields.append({"name": name, "value": value})
    return fields


def preference_changes(params: Params) -> dict[str, Any]:
    """Return the posting preferences and `discoverable` given, as core's update record spells them."""
    changes: dict[str, Any] = {}
    if params.has("discoverable"):
        changes["discoverable"] = params.boolean("discoverable")
    source = params.nested("source")
    if source.has("privacy"):
        privacy = source.string("privacy")
        if privacy not in PRIVACY:
            raise unprocessable(f"source[privacy] must be one of {sorted(PRIVACY)}")
        changes["privacy"] = privacy
    if source.has("sensitive"):
        changes["sensitive"] = source.boolean("sensitive")
    if source.has("language"):
        language = (source.string("language", most=16) or "").strip().lower()
        if language and not LANGUAGE.fullmatch(language):
            raise unprocessable("source[language] must be an ISO 639 language code")
        changes["language"] = language or None
    return changes


def check_unstored(params: Params) -> None:
    """Validate the settings no module stores, so a malformed one is still a 422."""
    for flag in IGNORED_FLAGS:
        params.boolean(flag)


def _index_order(index: str) -> tuple[int, str]:
    return (int(index), "") if index.isdigit() else (1 << 31, index)
