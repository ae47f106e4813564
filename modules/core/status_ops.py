"""The sources of the `statuses` stream topology: every op of `*statuses`, votes, media and the tick.

One topology owns statuses, polls, media and scheduled statuses because their records decide together:
a create attaches media and opens a poll, an edit replaces both, a tick publishes scheduled creates and
closes polls. The logic lives in `statuses`, `edits`, `scheduled`, `polls` and `media`.
"""

from __future__ import annotations

from modules.core import edits, polls, scheduled, statuses
from modules.core.records import Limits, Record
from topology.context import RecordRejected, StreamContext

STATUS_OPS = ("create", "delete", "edit", "schedule", "reschedule", "cancel_scheduled")


def on_statuses(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Apply one `*statuses` record; return the status id (the scheduled id for scheduled ops)."""
    op = record.get("op")
    if op in ("create", "delete"):
        return statuses.on_statuses(ctx, record, limits)
    if op == "edit":
        return edits.edit(ctx, record, limits)
    if op == "schedule":
        return scheduled.schedule(ctx, record, limits)
    if op == "reschedule":
        return scheduled.reschedule(ctx, record, limits)
    if op == "cancel_scheduled":
        return scheduled.cancel(ctx, record)
    raise RecordRejected(f"unknown op {op!r}: expected one of {list(STATUS_OPS)}")


def on_poll_votes(ctx: StreamContext, record: Record) -> int:
    """Apply a `*poll_votes` record; return the poll (status) id."""
    if record.get("op") != "vote":
        raise RecordRejected(f"unknown op {record.get('op')!r}: expected 'vote'")
    return polls.vote(ctx, record)


def on_tick(ctx: StreamContext, now_ms: int, limits: Limits) -> None:
    """Publish the scheduled statuses and close the polls whose time has come on this task."""
    scheduled.publish_due(ctx, now_ms, limits)
    polls.expire_due(ctx, now_ms)
