"""Record shapes of the relationships depots, their validation, and follow options.

Depot records (all account ids are ints):

    *follows           {"op": "follow", "follower", "followee", "reblogs"?, "notify"?, "languages"?}
                       {"op": "unfollow" | "authorize" | "reject" | "remove_follower", "follower", "followee"}
                       {"op": "endorse" | "unendorse", "account", "target"}
                       {"op": "list_create", "owner", "uuid", "title", "replies_policy"?, "exclusive"?} -> id
                       {"op": "list_update", "owner", "list_id", "title"?, "replies_policy"?, "exclusive"?}
                       {"op": "list_delete", "owner", "list_id"}
                       {"op": "list_add" | "list_remove", "owner", "list_id", "accounts": [ids]}
                       {"op": "import_follows", "follower", "followees": [ids], "reblogs"?, "notify"?,
                        "languages"?}   (Mastodon's following-list import: see `imports`)
    *account_settings  {"account", "locked": bool}
    *blocks            {"op": "block" | "unblock", "blocker", "blocked"}
    *mutes             {"op": "mute", "muter", "muted", "notifications"?: bool, "duration_s"?: int | None}
                       {"op": "unmute", "muter", "muted"}
    *notes             {"author", "target", "comment": str}   (an empty comment deletes the note)
    *suggestions       {"op": "dismiss", "account", "target"}
    *followed_tags     {"op": "follow" | "unfollow", "account", "tag"}
    *filters           see `filter_records`

`*follows` is partitioned by the account acting: the follower for follow / unfollow, the followee for
authorize / reject / remove_follower, the endorser, the list owner; so every record starts on the task
holding the actor's own state. Endorsements and lists ride on `*follows` rather than depots of their own
because they depend on the actor's follows (only a followed account can be endorsed or listed; an
unfollow drops both): records of one depot partition are applied in order, also by a replay, while two
depots' partitions may interleave differently on a replay and so rebuild different facts.

The graph topology appends to the internal depot `*follow_events`, on the followee's partition, one
record per effective change, or one per import and task for the follows it accepts (see `events`):

    {"op": "followed" | "requested" | "unfollowed" | "request_withdrawn" | "rejected", "follower", "followee"}
    {"op": "followed", "follower", "followees": [ids]}   (every followee owned by the appending task)
"""

from __future__ import annotations

from typing import Any

from topology.context import RecordRejected

FOLLOWEE_OPS = frozenset({"authorize", "reject", "remove_follower"})
FOLLOW_OPS = frozenset({"follow", "unfollow"}) | FOLLOWEE_OPS
IMPORT_OP = "import_follows"
ENDORSE_OPS = frozenset({"endorse", "unendorse"})
LIST_OPS = frozenset({"list_create", "list_update", "list_delete", "list_add", "list_remove"})
BLOCK_OPS = frozenset({"block", "unblock"})
MUTE_OPS = frozenset({"mute", "unmute"})
MAX_NOTE_CHARS = 2_000
MAX_LANGUAGES = 100

DEFAULT_OPTIONS: dict[str, Any] = {"reblogs": True, "notify": False, "languages": None}


def follows_actor(record: object) -> object:
    """Return the account whose task a `*follows` record starts on."""
    fields = _fields(record)
    op = fields.get("op")
    if op in FOLLOWEE_OPS:
        return fields["followee"]
    if op in ENDORSE_OPS:
        return fields["account"]
    if op in LIST_OPS:
        return fields["owner"]
    # An unknown op still needs a partition: the handler there rejects it with a clear reason.
    return next((fields[name] for name in ("follower", "owner", "account") if name in fields), None)


def field_of(name: str) -> Any:
    """Return a partitioning function reading `name` from a record."""
    return lambda record: _fields(record)[name]


def check_pair(
    record: dict[str, Any], first: str, second: str, ops: frozenset[str] | None, *, allow_self: bool = False
) -> tuple[int, int]:
    """Return the record's two account ids, rejecting unknown ops (None: no op field), non-ints, self-pairs."""
    if ops is not None and record.get("op") not in ops:
        raise RecordRejected(f"unknown op {record.get('op')!r}: expected one of {sorted(ops)}")
    a, b = record.get(first), record.get(second)
    if type(a) is not int or type(b) is not int:
        raise RecordRejected(f"{first} and {second} must be account ids (int), got {a!r} and {b!r}")
    if a == b and not allow_self:
        raise RecordRejected(f"an account cannot {record.get('op', 'relate to')} itself")
    return a, b


def merged_options(record: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Return follow options: the record's where given, else the current ones, else Mastodon's defaults."""
    options = dict(current or DEFAULT_OPTIONS)
    for flag in ("reblogs", "notify"):
        if record.get(flag) is not None:
            options[flag] = bool(record[flag])
    if "languages" in record:
        options["languages"] = _languages(record["languages"])
    return options


def mute_value(record: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Return the stored mute: whether it hides notifications and when it expires (ms, None: never)."""
    duration = record.get("duration_s")
    if duration is not None and (type(duration) is not int or duration < 0):
        raise RecordRejected(f"duration_s must be a non-negative int or None, got {duration!r}")
    expires_at = now_ms + duration * 1000 if duration else None
    return {"notifications": bool(record.get("notifications", True)), "expires_at": expires_at}


def mute_active(mute: dict[str, Any] | None, now_ms: int | None) -> bool:
    """Return whether `mute` is in force at `now_ms` (None: ignore expiry)."""
    if mute is None:
        return False
    expires_at = mute.get("expires_at")
    return expires_at is None or now_ms is None or expires_at > now_ms


def check_note(comment: object) -> str:
    """Return the note text, rejecting a non-string or one over `MAX_NOTE_CHARS`."""
    if not isinstance(comment, str):
        raise RecordRejected(f"comment must be a string, got {type(comment).__name__}")
    if len(comment) > MAX_NOTE_CHARS:
        raise RecordRejected(f"comment is {len(comment)} characters, over the limit of {MAX_NOTE_CHARS}")
    return comment


def _languages(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise RecordRejected(f"languages must be a list of language codes or None, got {value!r}")
    if len(value) > MAX_LANGUAGES:
        raise RecordRejected(f"at most {MAX_LANGUAGES} languages, got {len(value)}")
    return sorted(set(value))


def _fields(record: object) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise TypeError(f"relationship records are dicts, got {type(record).__name__}")
    return record
