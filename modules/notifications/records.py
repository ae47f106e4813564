"""Notification types, the `*notification_ops` records, and the shapes of what is stored.

    *notification_ops  {"op": "dismiss", "account", "id"}          remove one notification
                       {"op": "clear", "account"}                  remove every notification of the account
                       {"op": "policy", "account", any of "for_not_following", "for_not_followers",
                        "for_new_accounts", "for_private_mentions", "for_limited_accounts"}
                                                                   change the notification policy
                       {"op": "accept_request" | "dismiss_request", "account", "id"}   (policies.py)
                       {"op": "marker", "account", "timeline": "home" | "notifications", "last_read_id": id}
                                                                   partitioned by account

A stored notification (the value of `$$notifications`, also what queries return):

    {"id", "type", "account" (who acted), "status" (id or None), "created_at" (ms), "group_key", "key"}
    plus "filtered": True while it waits in a notification request (policies.py)
    plus, for `update`, "revision": the status edit it tells of (core's revision number)

`key` is the notification's *activity key*: what caused it, e.g. `favourite:<status>:<account>`. One
recipient has at most one notification per activity key, which makes every write idempotent (a retried
hop, a source record appended twice) and lets the undoing event (an unfavourite) find what to remove.
"""

from __future__ import annotations

from typing import Any

from topology.context import RecordRejected

Record = dict[str, Any]

MENTION = "mention"
STATUS = "status"
REBLOG = "reblog"
FAVOURITE = "favourite"
FOLLOW = "follow"
FOLLOW_REQUEST = "follow_request"
POLL = "poll"
UPDATE = "update"
TYPES = (MENTION, STATUS, REBLOG, FAVOURITE, FOLLOW, FOLLOW_REQUEST, POLL, UPDATE)

TIMELINES = ("home", "notifications")
OPS = ("dismiss", "clear", "marker", "policy", "accept_request", "dismiss_request")


def activity_key(kind: str, *parts: int) -> str:
    """Return the activity key of a notification of `kind` caused by `parts` (status, account...)."""
    return ":".join([kind, *(str(part) for part in parts)])


def ops_key(record: object) -> object:
    """Return the account a `*notification_ops` record is partitioned by."""
    if not isinstance(record, dict):
        raise TypeError(f"notification ops are dicts, got {type(record).__name__}")
    return record.get("account")


def check_op(record: Record) -> tuple[str, int]:
    """Return the record's (op, account), rejecting an unknown op or a non-id account."""
    op = record.get("op")
    if op not in OPS:
        raise RecordRejected(f"unknown op {op!r}: expected one of {list(OPS)}")
    return str(op), check_id(record.get("account"), "account")


def check_marker(record: Record) -> tuple[str, int]:
    """Return a marker record's (timeline, last_read_id)."""
    timeline = record.get("timeline")
    if timeline not in TIMELINES:
        raise RecordRejected(f"timeline must be one of {list(TIMELINES)}, got {timeline!r}")
    return str(timeline), check_id(record.get("last_read_id"), "last_read_id")


def check_id(value: object, what: str) -> int:
    """Return `value` if it is an id (a positive int), else reject."""
    if type(value) is not int or value <= 0:
        raise RecordRejected(f"{what} must be an id (a positive int), got {value!r}")
    return value
