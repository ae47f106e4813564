"""What an account does to its own notifications (`*notification_ops`): dismiss, clear, markers, policies.

    $$markers   account -> timeline ("home" | "notifications") -> {"last_read_id", "version", "updated_at"}

Markers follow Mastodon's (a row with optimistic locking): created at version 0, and every save that
changes `last_read_id` bumps the version and `updated_at`; saving the same position changes nothing, so a
retried record is a no-op. Times are the record's append time.
"""

from __future__ import annotations

from typing import Any

from modules.notifications import policies, timeline
from modules.notifications.records import Record, check_id, check_marker, check_op
from topology.context import ReadContext, StreamContext

MARKERS = "$$markers"


def on_ops(ctx: StreamContext, record: Record) -> Any:
    """Apply a dismiss or a request's accept / dismiss (each returns whether it existed), a clear, a marker
    or a policy (returns the marker or the policy)."""
    op, account = check_op(record)
    if op == "dismiss":
        return timeline.remove_notification(ctx, account, check_id(record.get("id"), "id"))
    if op == "clear":
        timeline.clear(ctx, account)
        return None
    if op == "policy":
        return policies.set_policy(ctx, account, record)
    if op in ("accept_request", "dismiss_request"):
        return policies.settle(ctx, account, check_id(record.get("id"), "id"), op == "accept_request")
    return save_marker(ctx, account, *check_marker(record))


def save_marker(ctx: StreamContext, account: int, name: str, last_read_id: int) -> dict[str, Any]:
    """Set the account's marker of timeline `name` and return it."""
    markers = ctx.pstate(MARKERS)
    current = markers.get(account, name)
    if current is not None and current["last_read_id"] == last_read_id:
        return dict(current)
    version = 0 if current is None else int(current["version"]) + 1
    marker = {"last_read_id": last_read_id, "version": version, "updated_at": ctx.time_ms}
    markers.put(account, name, marker)
    return marker


def markers(ctx: ReadContext, account: int, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Return the account's markers by timeline, only those named in `names` if given."""
    found = dict(ctx.pstate(MARKERS).range(account))
    return {name: marker for name, marker in found.items() if names is None or name in names}
