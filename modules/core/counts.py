"""Counts, read from the sets they count (never +1 counters, so retries cannot skew them).

    per status   replies_count     size of `$$replies` (public and unlisted replies, like Mastodon)
                 reblogs_count     size of `$$reblogged_by`
                 favourites_count  size of `$$favourited_by`            all three on the status' task
    per account  statuses_count    `$$author_statuses` (boosts included) minus `$$author_direct_statuses`
                 last_status_at    creation time (ms) of the newest status that is not direct, or None
                                                                         on the account's task

A collection's size is O(1) (it is stored at the collection's outer key). Followers and following counts
are the relationships module's `counts` query.
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import time_of
from modules.core.statuses import is_live
from topology.context import ReadContext

LAST_STATUS_SCAN = 100  # direct statuses skipped looking for the newest other one, at most


def status_counts(ctx: ReadContext, status_id: int) -> dict[str, int]:
    """Return the counts of `status_id` (on the status' task)."""
    return {
        "replies_count": int(ctx.pstate("$$replies").size(status_id)),
        "reblogs_count": int(ctx.pstate("$$reblogged_by").size(status_id)),
        "favourites_count": int(ctx.pstate("$$favourited_by").size(status_id)),
    }


def account_stats(ctx: ReadContext, account: int) -> dict[str, Any]:
    """Return `account`'s `statuses_count` and `last_status_at` (routed by account)."""
    authored = ctx.pstate("$$author_statuses")
    count = int(authored.size(account)) - int(ctx.pstate("$$author_direct_statuses").size(account))
    return {"statuses_count": count, "last_status_at": last_status_at(authored, account)}


def last_status_at(authored: Any, account: int) -> int | None:
    """Return when `account` last posted something not direct (ms), reading one row in the common case."""
    for limit in (1, LAST_STATUS_SCAN):
        rows = authored.range(account, reverse=True, limit=limit)
        found = next((int(i) for i, delivery in rows if delivery["visibility"] != "direct"), None)
        if found is not None or len(rows) < limit:
            return None if found is None else time_of(found)
    return None


def statuses_with_counts_here(ctx: ReadContext, status_ids: list[int]) -> dict[int, Any]:
    """Return the live statuses among `status_ids` this task owns, each with its counts (runs everywhere)."""
    mine = [status_id for status_id in status_ids if ctx.task_of(status_id) == ctx.task]
    if not mine:
        return {}
    found = ctx.pstate("$$statuses").multi_get(mine)
    return {
        status_id: {**status, **status_counts(ctx, status_id)}
        for status_id, status in zip(mine, found, strict=True)
        if is_live(status)
    }


def accounts_with_stats_here(ctx: ReadContext, account_ids: list[int]) -> dict[int, Any]:
    """Return the accounts among `account_ids` this task owns, each with its stats (runs everywhere)."""
    mine = [account for account in account_ids if ctx.task_of(account) == ctx.task]
    if not mine:
        return {}
    found = ctx.pstate("$$accounts").multi_get(mine)
    return {
        account: {**value, **account_stats(ctx, account)}
        for account, value in zip(mine, found, strict=True)
        if value is not None
    }
