"""Counts, read from the sets they count (never +1 counters, so retries cannot skew them).

    per status   replies_count     size of `$$counted_replies` (public and unlisted replies, like Mastodon)
                 reblogs_count     size of `$$reblogged_by`
                 favourites_count  size of `$$favourited_by`            all three on the status' task
    per account  statuses_count    `$$author_statuses` (boosts included) minus `$$author_direct_statuses`
                 last_status_at    creation time (ms) of the newest status that is not direct, or None
                                                                         on the account's task

A collection's size is O(1) (it is stored at the collection's outer key). Followers and following counts
are the relationships module's `counts` query. `on_owners` is how hydration reads many keys: grouped by
owning task once, then one query per such task (`statuses_with_counts_on`, `accounts_with_stats_on`, routed
`on_task`), each answering with one multi-get.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.core.ids import time_of
from modules.core.statuses import is_live
from topology.context import ReadContext

LAST_STATUS_SCAN = 100  # direct statuses skipped looking for the newest other one, at most


def status_counts(ctx: ReadContext, status_id: int) -> dict[str, int]:
    """Return the counts of `status_id` (on the status' task)."""
    return {
        "replies_count": int(ctx.pstate("$$counted_replies").size(status_id)),
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


def statuses_with_counts_on(ctx: ReadContext, task: int, status_ids: list[int]) -> dict[int, Any]:
    """Return the live statuses among `status_ids` (owned by `task`, where this runs) with their counts."""
    found = ctx.pstate("$$statuses").multi_get(status_ids)
    return {
        status_id: {**status, **status_counts(ctx, status_id)}
        for status_id, status in zip(status_ids, found, strict=True)
        if is_live(status)
    }


def accounts_with_stats_on(ctx: ReadContext, task: int, account_ids: list[int]) -> dict[int, Any]:
    """Return the accounts among `account_ids` (owned by `task`, where this runs) with their stats."""
    found = ctx.pstate("$$accounts").multi_get(account_ids)
    return {
        account: {**value, **account_stats(ctx, account)}
        for account, value in zip(account_ids, found, strict=True)
        if value is not None
    }


def on_owners(ctx: ReadContext, query: str, keys: Iterable[int]) -> dict[int, Any]:
    """Run `query(task, keys)` once on each task owning some of `keys` and merge the answers."""
    by_task: dict[int, list[int]] = {}
    for key in keys:
        by_task.setdefault(ctx.task_of(key), []).append(key)
    merged: dict[int, Any] = {}
    for task, owned in by_task.items():
        merged.update(ctx.query("core", query, task, owned))
    return merged
