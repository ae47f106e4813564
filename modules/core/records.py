"""Record shapes of the core depots, their validation and Mastodon's limits (all configurable).

    *accounts          {"op": "register", "uuid": str, "username": str, "display_name"?, "note"?, "locked"?,
                        "bot"?, "fields"?: [{"name", "value"}]}        partitioned by lower-cased username
                       {"op": "update", "account": id, any of "display_name", "note", "locked", "bot",
                        "fields", "privacy", "sensitive", "language", "discoverable", "avatar",
                        "avatar_static", "header", "header_static"}     partitioned by account id
    *statuses          {"op": "create", "author": id, "uuid": str, "text": str, "spoiler_text"?: str,
                        "sensitive"?: bool, "visibility"?: "public" | "unlisted" | "private" | "direct",
                        "in_reply_to"?: id, "language"?: str, "mentions"?: [id], "media"?: [media id],
                        "poll"?: {"options": [str], "expires_in": s, "multiple"?, "hide_totals"?}}
                                                                        partitioned by author
                       {"op": "delete", "author": id, "id": id}
                       {"op": "edit", "author", "id", "uuid", "text", "spoiler_text"?, "sensitive"?,
                        "language"?, "media"?, "poll"?}                 (edits.py)
                       {"op": "schedule", "author", "uuid", "scheduled_at": ms, "params": {create fields}}
                       {"op": "reschedule", "author", "id", "scheduled_at"}
                       {"op": "cancel_scheduled", "author", "id"}       (scheduled.py)
    *reblogs           {"op": "reblog", "account": id, "status": id, "visibility"?: "public" | "unlisted" |
                        "private"}  |  {"op": "unreblog", "account", "status"}        partitioned by account
    *favourites        {"op": "favourite" | "unfavourite", "account": id, "status": id}
    *bookmarks         {"op": "bookmark" | "unbookmark", "account": id, "status": id}
    *pins              {"op": "pin" | "unpin", "account": id, "status": id}
    *conversation_mutes {"op": "mute" | "unmute", "account": id, "status": id}   all partitioned by account
    *media             {"op": "create", "account", "uuid", "type", "url"?, "preview_url"?, "remote_url"?,
                        "description"?, "focus"?: {"x", "y"}, "meta"?: dict, "blurhash"?}
                       {"op": "update", "account", "id", "description"?, "focus"?}   by account (media.py)
    *poll_votes        {"op": "vote", "account", "poll" (or "status"): id, "choices": [index], "uuid"?: str}
                                                                        by poll (polls.py)
    *conversations     {"op": "read" | "remove", "account", "conversation": id}   by account
    *statuses_with_id  internal, appended by the statuses topology on the author's task:
                       {"op": "create", "status": Delivery, "text": str, "conversation": id}
                       | {"op": "update", "id", "author", "revision", "status": Delivery, "text"}
                                                                        (after an edit: edits.py)
                       | {"op": "delete", "id", "author", "visibility"}
    *interactions      internal, appended once per effective change (interactions.py has the fields):
                       {"op": "favourited" | "unfavourited", "account", "status", "author", "favourite", ...}
                       {"op": "reblogged" | "unreblogged", "account", "status", "author", "boost"}
                       {"op": "bookmarked" | "unbookmarked", "account", "status", "bookmark", ...}
                       ("account" acted on "status" by "author"; "favourite" / "boost" / "bookmark": the
                       row's id); bookmarks on the account's task, the others on the status' task
    *poll_events       internal, on the poll's task: {"op": "poll_expired", "status", "author", "voters": [id]}

A `Delivery` is what fanout and the home-timeline rebuild need to decide who sees a status, and is also the
value of `$$author_statuses`: {"id", "author", "visibility", "reply_to" (parent's author or None),
"mentions", "language", "tags" (normalized hashtags, `text.hashtags`), "reblog_of" (the boosted status' id,
or None), "reblog_author" (the boosted status' author, or None)}. Other modules (trends, global timelines,
search) consume `*statuses_with_id` through mirrors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from topology.context import RecordRejected

Record = dict[str, Any]

VISIBILITIES = ("public", "unlisted", "private", "direct")
USERNAME = re.compile(r"[A-Za-z0-9_]+")
PROFILE_FIELDS = ("display_name", "note", "locked", "bot", "fields")
# Preferences and images a profile update may carry (absent on accounts that never set them).
PRIVACIES = ("public", "unlisted", "private")
LANGUAGE = re.compile(r"[a-z]{2,3}")
IMAGE_URLS = ("avatar", "avatar_static", "header", "header_static")
MAX_URL_CHARS = 2_048


@dataclass(frozen=True, slots=True)
class Limits:
    """Mastodon's documented limits; a module instance may change them."""

    status_chars: int = 500
    mentions: int = 50
    username_chars: int = 30
    display_name_chars: int = 30
    note_chars: int = 500
    fields: int = 4
    field_chars: int = 255
    uuid_chars: int = 64
    media_per_status: int = 4
    media_description_chars: int = 1_500
    poll_options: int = 4
    poll_option_chars: int = 50
    poll_min_expires_s: int = 300
    poll_max_expires_s: int = 2_629_746
    scheduled_total: int = 300
    scheduled_daily: int = 25
    schedule_min_ahead_ms: int = 5 * 60_000


def accounts_key(record: object) -> object:
    """Return the key a `*accounts` record is partitioned by: the username to register, else the account."""
    fields = _fields(record)
    if fields.get("op") == "register":
        return str(fields.get("username", "")).lower()
    return fields.get("account")


def field_key(name: str) -> Callable[[object], object]:
    """Return a partitioning function: the record's field `name` (an account, a poll)."""

    def key(record: object) -> object:
        return _fields(record).get(name)

    return key


def poll_key(record: object) -> object:
    """Return the key a `*poll_votes` record is partitioned by: the poll (its status id)."""
    fields = _fields(record)
    return fields.get("poll", fields.get("status"))


def statuses_key(record: object) -> object:
    """Return the key a `*statuses` record is partitioned by: its author."""
    return _fields(record).get("author")


def check_registration(record: Record, limits: Limits) -> tuple[str, str]:
    """Return the registration's (uuid, username), rejecting a malformed one."""
    uuid = check_uuid(record.get("uuid"), limits)
    username = record.get("username")
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise RecordRejected(f"username must be letters, digits and underscores, got {username!r}")
    if len(username) > limits.username_chars:
        raise RecordRejected(f"username is over {limits.username_chars} characters")
    return uuid, username


def check_profile(record: Record, limits: Limits) -> Record:
    """Return the profile fields present in `record`, validated."""
    profile: Record = {}
    for name, most in (("display_name", limits.display_name_chars), ("note", limits.note_chars)):
        if name in record:
            profile[name] = check_text(record[name], name, most)
    for flag in ("locked", "bot"):
        if flag in record:
            if not isinstance(record[flag], bool):
                raise RecordRejected(f"{flag} must be a bool, got {record[flag]!r}")
            profile[flag] = record[flag]
    if "fields" in record:
        profile["fields"] = check_fields(record["fields"], limits)
    return profile | check_preferences(record)


def check_preferences(record: Record) -> Record:
    """Return the posting preferences, `discoverable` and image URLs present in `record`, validated."""
    found: Record = {}
    if "privacy" in record:
        if record["privacy"] not in PRIVACIES:
            raise RecordRejected(f"privacy must be one of {list(PRIVACIES)}, got {record['privacy']!r}")
        found["privacy"] = record["privacy"]
    for flag in ("sensitive", "discoverable"):
        if flag in record:
            if not isinstance(record[flag], bool):
                raise RecordRejected(f"{flag} must be a bool, got {record[flag]!r}")
            found[flag] = record[flag]
    if "language" in record:
        language = record["language"]
        if language is not None and not (isinstance(language, str) and LANGUAGE.fullmatch(language)):
            raise RecordRejected(f"language must be an ISO 639 code or None, got {language!r}")
        found["language"] = language
    for name in IMAGE_URLS:
        if name in record:
            url = record[name]
            if not isinstance(url, str) or len(url) > MAX_URL_CHARS or not url.startswith(("https://", "http://")):
                raise RecordRejected(f"{name} must be an http(s) URL of at most {MAX_URL_CHARS} characters")
            found[name] = url
    return found


def check_fields(value: object, limits: Limits) -> list[Record]:
    """Return profile metadata fields as [{"name", "value"}], rejecting too many or too long."""
    if not isinstance(value, list) or len(value) > limits.fields:
        raise RecordRejected(f"fields must be a list of at most {limits.fields} name / value pairs")
    out = []
    for field in value:
        if not isinstance(field, dict):
            raise RecordRejected(f"a field is a {{'name', 'value'}} dict, got {field!r}")
        name = check_text(field.get("name"), "field name", limits.field_chars)
        out.append({"name": name, "value": check_text(field.get("value"), "field value", limits.field_chars)})
    return out


def check_status(record: Record, limits: Limits) -> Record:
    """Return a create record's fields, validated and with defaults filled in."""
    author = check_id(record.get("author"), "author")
    visibility = record.get("visibility", "public")
    if visibility not in VISIBILITIES:
        raise RecordRejected(f"visibility must be one of {list(VISIBILITIES)}, got {visibility!r}")
    mentions = record.get("mentions", [])
    if not isinstance(mentions, list) or len(mentions) > limits.mentions:
        raise RecordRejected(f"mentions must be a list of at most {limits.mentions} account ids")
    language = record.get("language")
    if language is not None and (not isinstance(language, str) or not 0 < len(language) <= 16):
        raise RecordRejected(f"language must be a language code or None, got {language!r}")
    reply = record.get("in_reply_to")
    return {
        "author": author,
        "uuid": check_uuid(record.get("uuid"), limits),
        **check_content(record, limits),
        "visibility": visibility,
        "in_reply_to": None if reply is None else check_id(reply, "in_reply_to"),
        "language": language,
        "mentions": sorted({check_id(m, "mention") for m in mentions}),
    }


def check_content(record: Record, limits: Limits) -> Record:
    """Return the editable fields of a create or edit: text, spoiler_text, sensitive, media (ids).

    Mastodon counts the spoiler text towards the status' character limit, marks a status with a spoiler
    text sensitive unless told otherwise, and refuses media beside a poll.
    """
    text = check_text(record.get("text"), "text", limits.status_chars)
    spoiler = check_text(record.get("spoiler_text", ""), "spoiler_text", limits.status_chars)
    if len(text) + len(spoiler) > limits.status_chars:
        raise RecordRejected(f"text and spoiler_text are over the limit of {limits.status_chars} characters")
    sensitive = record.get("sensitive", bool(spoiler))
    if not isinstance(sensitive, bool):
        raise RecordRejected(f"sensitive must be a bool, got {sensitive!r}")
    media = record.get("media", [])
    if not isinstance(media, list) or len(media) > limits.media_per_status:
        raise RecordRejected(f"media must be a list of at most {limits.media_per_status} media ids")
    if len(set(media)) != len(media):
        raise RecordRejected("media lists an attachment twice")
    if media and record.get("poll") is not None:
        raise RecordRejected("a status cannot have both media and a poll")
    ids = [check_id(m, "media") for m in media]
    return {"text": text, "spoiler_text": spoiler, "sensitive": sensitive, "media": ids}


def check_id(value: object, what: str) -> int:
    """Return `value` if it is an id (a positive int), else reject."""
    if type(value) is not int or value <= 0:
        raise RecordRejected(f"{what} must be an id (a positive int), got {value!r}")
    return value


def check_uuid(value: object, limits: Limits) -> str:
    """Return a client request uuid (an idempotency key), rejecting an empty or over-long one."""
    if not isinstance(value, str) or not 0 < len(value) <= limits.uuid_chars:
        raise RecordRejected(f"uuid must be a non-empty string of at most {limits.uuid_chars} characters")
    return value


def check_text(value: object, what: str, most: int) -> str:
    """Return `value` if it is a string of at most `most` characters, else reject."""
    if not isinstance(value, str):
        raise RecordRejected(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > most:
        raise RecordRejected(f"{what} is {len(value)} characters, over the limit of {most}")
    return value


def _fields(record: object) -> Record:
    if not isinstance(record, dict):
        raise TypeError(f"core records are dicts, got {type(record).__name__}")
    return record
