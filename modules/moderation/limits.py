"""Limited accounts (Mastodon's "silence", called "limit" in its admin UI since 4.0): set and lifted by moderators.

    *account_actions   {"op": "limit" | "unlimit", "account": id, "moderator": id}     by account
    $$limited_accounts account -> {"since": ms, "by": moderator}                     (the account's task)

Limiting an account that is limited already keeps the first `since`, and lifting one that is not limited
changes nothing, so a retried or repeated record is a no-op. `since` is the record's append time: a reader
judging an activity by its own time (`limited_at`) gets the same answer live and on a replay, whichever of the
two records was processed first. What a limit does elsewhere (Mastodon hides a limited account's posts and
notifications from those who do not follow it) is for the modules that read `$$limited_accounts`: the
notifications module's `for_limited_accounts` policy so far.
"""

from __future__ import annotations

from typing import Any

from modules.moderation.records import check_id
from topology.context import ReadContext, RecordRejected, StreamContext

LIMITED = "$$limited_accounts"
ACTIONS = ("limit", "unlimit")

Record = dict[str, Any]


def account_of(record: object) -> object:
    """Return the account an `*account_actions` record is partitioned by (None for a malformed record)."""
    return record.get("account") if isinstance(record, dict) else None


def on_account_actions(ctx: StreamContext, record: Record) -> dict[str, Any] | None:
    """Limit or unlimit an account; return its limit afterwards (None when not limited)."""
    op = record.get("op")
    if op not in ACTIONS:
        raise RecordRejected(f"unknown op {op!r}: expected one of {list(ACTIONS)}")
    account, moderator = check_id(record.get("account"), "account"), check_id(record.get("moderator"), "moderator")
    limits = ctx.pstate(LIMITED)
    current: dict[str, Any] | None = limits.get(account)
    if op == "unlimit":
        limits.delete(account)
        return None
    if current is None:
        current = {"since": ctx.time_ms, "by": moderator}
        limits.put(account, current)
    return current


def limit(ctx: ReadContext, account: int) -> dict[str, Any] | None:
    """Return the account's limit ({"since", "by"}), or None if it is not limited."""
    found: dict[str, Any] | None = ctx.pstate(LIMITED).get(account)
    return found


def limited_at(found: dict[str, Any] | None, at_ms: int) -> bool:
    """Whether a limit read from `$$limited_accounts` applies to an activity at `at_ms`."""
    return found is not None and int(found["since"]) <= at_ms
