"""Counters the instance endpoints read: local users, and registrations and logins per week.

Each task counts what it processes in its own partition of `$$stats` (keys "local_users",
"registrations:<week>", "logins:<week>", a week being the Unix second of its Monday 00:00 UTC, as Mastodon
bins its activity). A counter moves only together with the first write of the fact it counts, in the same
commit, so a retried record cannot count twice. Readers sum every task's partition (`merge_counts`).
"""

from __future__ import annotations

from typing import Any

from topology.context import QueryContext, ReadContext, TopologyContext

DAY_MS = 86_400_000
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday: three days after a Monday


def week_of(ms: int) -> int:
    """Return the Unix second of the Monday 00:00 UTC starting the week of `ms`."""
    days = ms // DAY_MS
    return (days - (days + EPOCH_WEEKDAY) % 7) * 86_400


def bump(ctx: TopologyContext, key: str) -> None:
    """Add one to this task's counter `key`."""
    stats = ctx.pstate("$$stats")
    stats.put(key, stats.get(key, 0) + 1)


def count_registration(ctx: TopologyContext) -> None:
    """Count a new local user, in the total and in this week's registrations."""
    bump(ctx, "local_users")
    bump(ctx, f"registrations:{week_of(ctx.time_ms)}")


def count_login(ctx: TopologyContext) -> None:
    """Count a user token issued this week (a login)."""
    bump(ctx, f"logins:{week_of(ctx.time_ms)}")


def local_users(ctx: ReadContext) -> int:
    """Return how many local users this task registered."""
    return int(ctx.pstate("$$stats").get("local_users", 0))


def activity(ctx: QueryContext, weeks: int) -> list[dict[str, Any]]:
    """Return this task's registrations and logins for the last `weeks` weeks, the current one first."""
    local, current = ctx.pstate("$$stats"), week_of(ctx.now_ms())
    starts = [current - n * 7 * 86_400 for n in range(max(0, min(weeks, 52)))]
    return [
        {
            "week": week,
            "registrations": int(local.get(f"registrations:{week}", 0)),
            "logins": int(local.get(f"logins:{week}", 0)),
        }
        for week in starts
    ]


def merge_activity(results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Sum per-task activity, week by week (every task lists the same weeks)."""
    merged = [dict(week) for week in results[0]] if results else []
    for result in results[1:]:
        for total, week in zip(merged, result, strict=True):
            total["registrations"] += week["registrations"]
            total["logins"] += week["logins"]
    return merged
