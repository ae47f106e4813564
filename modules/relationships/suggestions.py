"""Who to follow (Mastodon's GET /api/v2/suggestions): friends of friends, then the most followed.

Two indexes, both written by the graph topology:

    account's task  $$dismissed_suggestions  account -> sorted set of accounts it never wants suggested
    each task       $$popular                task key -> sorted set of (followers, account) for the accounts
                                             this task owns (updated as their follower count moves)

The query's cost is bounded whatever the graph: it samples `SAMPLED_FOLLOWEES` of the account's
followees and `SAMPLED_PER_FOLLOWEE` followees of each, ranks candidates by how many sampled followees
follow them, then tops up from the `POPULAR_PER_TASK` most followed accounts of each task. It never
suggests the account itself, accounts it follows or requested, blocks or is blocked by, mutes (at the
query's clock) or dismissed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from modules.relationships.ids import task_key
from modules.relationships.records import check_pair, mute_active
from topology.context import QueryContext, ReadContext, StreamContext, TopologyContext

DISMISSED = "$$dismissed_suggestions"
POPULAR = "$$popular"
SUGGESTION_OPS = frozenset({"dismiss"})
SAMPLED_FOLLOWEES = 100
SAMPLED_PER_FOLLOWEE = 100
POPULAR_PER_TASK = 200
DEFAULT_LIMIT = 40  # Mastodon's default
MAX_LIMIT = 80
FRIENDS_OF_FRIENDS = "friends_of_friends"
MOST_FOLLOWED = "most_followed"
# Mastodon 4.3 still renders the deprecated single `source` from its `sources`.
LEGACY_SOURCE = {FRIENDS_OF_FRIENDS: "past_interactions", MOST_FOLLOWED: "global"}


def on_suggestions(ctx: StreamContext, record: dict[str, Any]) -> None:
    """Dismiss a suggestion for good (on the account's task)."""
    account, target = check_pair(record, "account", "target", SUGGESTION_OPS)
    ctx.pstate(DISMISSED).add(account, target)


def follower_count_moved(ctx: TopologyContext, followee: int, before: int, after: int) -> None:
    """Move `followee` in this task's popularity index (on the followee's task)."""
    if before == after:
        return
    view = ctx.pstate(POPULAR)
    key = task_key("popular", ctx.task, ctx.tasks, ctx.task_of)
    if before:
        view.remove(key, (before, followee))
    if after:
        view.add(key, (after, followee))


# -- queries -------------------------------------------------------------------------------------------


def suggestions(
    ctx: QueryContext, account: int, limit: int = DEFAULT_LIMIT, now_ms: int | None = None
) -> list[dict[str, Any]]:
    """Return up to `limit` suggestions `{"account_id", "sources", "source"}`, best first."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    now = ctx.now_ms() if now_ms is None else now_ms
    ranked = [c for c, _ in sorted(friends_of_friends(ctx, account).items(), key=lambda kv: (-kv[1], kv[0]))]
    chosen: dict[int, list[str]] = {}
    for candidate in ranked:
        if len(chosen) == limit:
            break
        if suggestable(ctx, account, candidate, now):
            chosen[candidate] = [FRIENDS_OF_FRIENDS]
    popular = [a for _, a in ctx.query("relationships", "popular", POPULAR_PER_TASK)]
    # An account among the top `limit` most followed says so, even when friends of friends found it first.
    for candidate in [p for p in popular if suggestable(ctx, account, p, now)][:limit]:
        if candidate in chosen:
            chosen[candidate].append(MOST_FOLLOWED)
        elif len(chosen) < limit:
            chosen[candidate] = [MOST_FOLLOWED]
    return [{"account_id": a, "sources": s, "source": LEGACY_SOURCE[s[0]]} for a, s in chosen.items()]


def friends_of_friends(ctx: ReadContext, account: int) -> Counter[int]:
    """Count, for each account followed by a sampled followee of `account`, how many sampled ones do."""
    followees = [f for f, _ in ctx.pstate("$$following").range(account, reverse=True, limit=SAMPLED_FOLLOWEES)]
    routed = ctx.pstate("$$following", module="relationships")
    counts: Counter[int] = Counter()
    for followee in followees:
        counts.update(f for f, _ in routed.range(followee, reverse=True, limit=SAMPLED_PER_FOLLOWEE))
    return counts


def suggestable(ctx: ReadContext, account: int, candidate: int, now_ms: int) -> bool:
    """Whether `candidate` may be suggested to `account` (read on `account`'s task)."""
    if candidate == account:
        return False
    for name in ("$$following", "$$requested", "$$blocking", "$$blocked_by", DISMISSED):
        if ctx.pstate(name).contains(account, candidate):
            return False
    return not mute_active(ctx.pstate("$$muting").get(account, candidate), now_ms)


def popular(ctx: ReadContext, limit: int = POPULAR_PER_TASK) -> list[list[int]]:
    """Return `[followers, account]` of this task's most followed accounts, most followed first."""
    key = task_key("popular", ctx.task, ctx.tasks, ctx.task_of)
    rows = ctx.pstate(POPULAR).range(key, reverse=True, limit=max(1, min(int(limit), POPULAR_PER_TASK)))
    return [[count, account] for count, account in rows]


def merge_popular(results: list[list[list[int]]]) -> list[list[int]]:
    """Join per-task popularity lists, most followed first (ties: smaller id first)."""
    return sorted((row for rows in results for row in rows), key=lambda row: (-row[0], row[1]))


def dismissed(ctx: ReadContext, account: int) -> list[int]:
    """Return the accounts `account` dismissed from its suggestions."""
    return list(ctx.pstate(DISMISSED).range(account))
