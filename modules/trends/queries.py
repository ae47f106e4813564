"""Reads of the trends module: hashtag timelines, history, trending lists, featured and suggested tags.

Routed by their first argument unless noted. Trending lists are scored on every task (`trending_here`,
each task for the keys it owns) and merged by `trending`; time comes from the query clock (`now_ms`).
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key
from modules.core.text import normalize_tag
from modules.global_timelines.paging import Page, scan
from modules.trends.scoring import DAY_MS, HOUR_MS, TrendOptions, decayed_score, history
from topology.context import QueryContext

MODULE = "trends"
KINDS = ("tag", "link", "status")
HISTORY_DAYS = 7


def tag_timeline(
    ctx: QueryContext,
    tag: str,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = 20,
    local: bool = False,
) -> list[int]:
    """Return a page of the public statuses tagged `tag`, newest first (`local`: local accounts only)."""
    if tag != normalize_tag(tag):  # routed by the name as given: go to the normalized name's task
        found: list[int] = ctx.query(MODULE, "tag_timeline", normalize_tag(tag), max_id, since_id, min_id, limit, local)
        return found
    page = Page(max_id, since_id, min_id, limit)
    ids = scan(ctx.pstate("$$tag_statuses"), tag, page, lambda entry: not local or bool(entry["local"]))
    return sorted(ids, reverse=True)


def tag(ctx: QueryContext, name: str) -> dict[str, Any]:
    """Return Mastodon's Tag entity for `name`: its name and 7 days of history (buckets live by (kind, key))."""
    normalized = normalize_tag(name)
    return {"name": normalized, **ctx.query(MODULE, "usage", ("tag", normalized))}


def usage(ctx: QueryContext, counted: tuple[str, str]) -> dict[str, Any]:
    """Return the 7-day history of a counted `(kind, key)` (routed by the pair)."""
    kind, key = counted
    return {"history": history(_days(ctx, (kind, key)), ctx.now_ms(), HISTORY_DAYS)}


def trending(ctx: QueryContext, kind: str, limit: int = 10, offset: int = 0) -> list[dict[str, Any]]:
    """Return what trends now, best first: [{"key", "score", "history"}] (routed by kind)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    scored: list[tuple[float, str]] = ctx.query(MODULE, "trending_here", kind)
    ranked = sorted(scored, key=lambda pair: (-pair[0], pair[1]))[offset : offset + max(0, min(limit, 40))]
    return [{"key": key, "score": score, **ctx.query(MODULE, "usage", (kind, key))} for score, key in ranked]


class TrendingHere:
    """`trending_here(kind)`: this task's keys of `kind` used in the cooldown window, with positive scores."""

    def __init__(self, options: TrendOptions) -> None:
        self.options = options

    def __call__(self, ctx: QueryContext, kind: str) -> list[tuple[float, str]]:
        """Score this task's recent keys of `kind` (runs on every task; results are concatenated)."""
        now_ms = ctx.now_ms()
        first_hour = (now_ms - self.options.cooldown_ms) // HOUR_MS
        recent = ctx.pstate("$$recent").range(task_key(kind, ctx.task, ctx.tasks, ctx.task_of), (first_hour, ""))
        scored = []
        for key in sorted({key for (_, key), _ in recent}):
            hours = dict(ctx.pstate("$$hours").range((kind, key), first_hour - 24))
            days = _days(ctx, (kind, key), first_hour * HOUR_MS // DAY_MS - 1)
            score = decayed_score(hours, days, now_ms, self.options)
            if score > 0 and score >= self.options.decay_threshold:
                scored.append((score, key))
        return scored


def featured_tags(ctx: QueryContext, account: int) -> list[dict[str, Any]]:
    """Return the tags `account` features, with its statuses count and last use of each."""
    counts = ctx.pstate("$$account_tags")
    out = []
    for tag_name, featured in ctx.pstate("$$featured_tags").range(account):
        used = counts.get(account, tag_name) or {"statuses_count": 0, "last_status_at": None}
        out.append({"name": featured["name"], "created_at": featured["created_at"], **used})
    return sorted(out, key=lambda tag: tag["created_at"])


def suggested_tags(ctx: QueryContext, account: int, limit: int = 10) -> list[dict[str, Any]]:
    """Return the hashtags `account` used most recently (for "suggested featured tags"), newest first."""
    used = ctx.pstate("$$account_tags").range(account)
    live = [(counts["last_status_at"], name, counts) for name, counts in used if counts["statuses_count"] > 0]
    live.sort(key=lambda row: (-row[0], row[1]))
    return [{"name": name, **counts} for _, name, counts in live[: max(0, limit)]]


def concat(results: list[list[Any]]) -> list[Any]:
    """Concatenate per-task lists."""
    return [item for result in results for item in result]


def _days(ctx: QueryContext, key: tuple[str, str], first_day: int | None = None) -> dict[int, dict[str, Any]]:
    return dict(ctx.pstate("$$days").range(key, first_day))
