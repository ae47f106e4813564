"""Record shapes of `*filters` and their validation (every bad field is a RecordRejected with a reason).

    {"op": "create", "account", "uuid", "title", "context": [...], "filter_action"?: "warn" | "hide" | "blur",
     "expires_in"?: seconds | None, "keywords"?: [{"keyword", "whole_word"?: bool}]}        -> filter id
    {"op": "update", "account", "filter_id", "title"?, "context"?, "filter_action"?, "expires_in"?,
     "keywords"?: [{"keyword", "whole_word"?} | {"id", "keyword"?, "whole_word"?} | {"id", "_destroy": true}]}
    {"op": "delete", "account", "filter_id"}
    {"op": "add_keyword", "account", "filter_id", "keyword", "whole_word"?, "uuid"?}       -> keyword id
    {"op": "update_keyword", "account", "keyword_id", "keyword"?, "whole_word"?}
    {"op": "remove_keyword", "account", "keyword_id"}
    {"op": "add_status", "account", "filter_id", "status_id"}                               -> filter status id
    {"op": "remove_status", "account", "filter_status_id"}

`expires_in` counts from the record's append time; None (or absent on create) never expires. Contexts are
Mastodon's: home, notifications, public, thread, account. `blur` is Mastodon 4.4's third action.
"""

from __future__ import annotations

from typing import Any

from topology.context import RecordRejected

Record = dict[str, Any]

FILTER_OPS = frozenset(
    {"create", "update", "delete", "add_keyword", "update_keyword", "remove_keyword", "add_status", "remove_status"}
)
CONTEXTS = ("home", "notifications", "public", "thread", "account")
FILTER_ACTIONS = frozenset({"warn", "hide", "blur"})
MAX_TITLE_CHARS = 256
MAX_KEYWORD_CHARS = 512
MAX_UUID_CHARS = 100
# Our bounds (Mastodon sets none): they keep an account's filters cheap to read whole on every hydration.
MAX_FILTERS = 100
MAX_KEYWORDS = 1_000
MAX_STATUSES = 1_000
MAX_EXPIRES_IN_S = 10 * 365 * 24 * 3600

NEW_FILTER: Record = {"title": None, "context": None, "filter_action": "warn", "expires_at": None}


def op_and_account(record: Record) -> tuple[str, int]:
    """Return the record's op and account, rejecting unknown ops and non-int accounts."""
    op = record.get("op")
    if op not in FILTER_OPS:
        raise RecordRejected(f"unknown op {op!r}: expected one of {sorted(FILTER_OPS)}")
    return str(op), id_field(record, "account")


def id_field(record: Record, name: str) -> int:
    """Return the int id in field `name`."""
    value = record.get(name)
    if type(value) is not int:
        raise RecordRejected(f"{name} must be an id (int), got {value!r}")
    return value


def required_uuid(record: Record) -> str:
    """Return the record's client uuid, which must be there."""
    value = record.get("uuid")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_UUID_CHARS:
        raise RecordRejected(f"uuid must be a non-empty string of at most {MAX_UUID_CHARS} characters")
    return value


def optional_uuid(record: Record) -> str | None:
    """Return the record's client uuid, or None if it has none."""
    return None if record.get("uuid") is None else required_uuid(record)


def filter_settings(record: Record, current: Record, time_ms: int) -> Record:
    """Return title, context, filter_action and expires_at: the record's where given, else `current`'s."""
    return {
        "title": _title(record.get("title", current["title"])),
        "context": _context(record.get("context", current["context"])),
        "filter_action": _action(record.get("filter_action", current["filter_action"])),
        "expires_at": _expires_at(record["expires_in"], time_ms) if "expires_in" in record else current["expires_at"],
    }


def new_keywords(entries: object) -> list[Record]:
    """Return validated new keywords: `{"keyword", "whole_word"}` (whole_word defaults to True)."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise RecordRejected(f"keywords must be a list of objects, got {entries!r}")
    return [{"keyword": _keyword(e.get("keyword")), "whole_word": _flag(e.get("whole_word", True))} for e in entries]


def keyword_edits(entries: object) -> list[Record]:
    """Return validated keyword edits: new keywords (no id), changes (id + fields) and removals (_destroy)."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise RecordRejected(f"keywords must be a list of objects, got {entries!r}")
    edits: list[Record] = []
    for entry in entries:
        if "id" not in entry:
            edits.extend(new_keywords([entry]))
        elif entry.get("_destroy"):
            edits.append({"id": id_field(entry, "id"), "_destroy": True})
        else:
            edit: Record = {"id": id_field(entry, "id")}
            if "keyword" in entry:
                edit["keyword"] = _keyword(entry["keyword"])
            if "whole_word" in entry:
                edit["whole_word"] = _flag(entry["whole_word"])
            edits.append(edit)
    return edits


def _title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordRejected("a filter needs a non-empty title")
    if len(value) > MAX_TITLE_CHARS:
        raise RecordRejected(f"title is {len(value)} characters, over the limit of {MAX_TITLE_CHARS}")
    return value.strip()


def _context(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise RecordRejected(f"context must be a non-empty list drawn from {list(CONTEXTS)}, got {value!r}")
    unknown = sorted(set(value) - set(CONTEXTS))
    if unknown:
        raise RecordRejected(f"unknown filter context {unknown}: expected some of {list(CONTEXTS)}")
    return [context for context in CONTEXTS if context in value]


def _action(value: object) -> str:
    if value not in FILTER_ACTIONS:
        raise RecordRejected(f"filter_action must be one of {sorted(FILTER_ACTIONS)}, got {value!r}")
    return str(value)


def _expires_at(expires_in: object, time_ms: int) -> int | None:
    if expires_in is None:
        return None
    if type(expires_in) is not int or not 0 < expires_in <= MAX_EXPIRES_IN_S:
        raise RecordRejected(f"expires_in must be None or 1..{MAX_EXPIRES_IN_S} seconds, got {expires_in!r}")
    return time_ms + expires_in * 1000


def _keyword(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordRejected("a filter keyword must be a non-empty string")
    if len(value) > MAX_KEYWORD_CHARS:
        raise RecordRejected(f"keyword is {len(value)} characters, over the limit of {MAX_KEYWORD_CHARS}")
    return value


def _flag(value: object) -> bool:
    if type(value) is not bool:
        raise RecordRejected(f"whole_word must be a bool, got {value!r}")
    return value
