"""Read functions of the core module.

Routed by key (the default) unless noted. The hydrate query `statuses` is in `hydrate`; the queries of
boosts, favourites, bookmarks, pins, conversation mutes and counts are beside their writes. Reads of many
ids spread over tasks go through the `*_here` queries, which run on every task and answer for the ids
that task owns (one multi-get each).
"""

from __future__ import annotations

from typing import Any

from modules.core.boosts import REBLOG_FALLOFF, without_repeated_boosts
from modules.core.ids import task_key
from modules.core.statuses import is_live
from modules.core.timelines import HomeTimelines
from modules.core.visibility import relations
from topology.context import QueryContext, ReadContext

DEFAULT_PAGE = 20
MAX_PAGE = 40


def account(ctx: ReadContext, account_id: int) -> dict[str, Any] | None:
    """Return the account `account_id`, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$accounts").get(account_id)
    return found


def account_by_username(ctx: ReadContext, username: str) -> int | None:
    """Return the id of the account named `username` (case-insensitive), or None."""
    if username != username.lower():  # routed by the name as given: go to the lower-cased name's task
        found_id: int | None = ctx.query("core", "account_by_username", username.lower())
        return found_id
    found = ctx.pstate("$$account_by_username").get(username)
    return None if found is None else int(found["id"])


def status(ctx: ReadContext, status_id: int) -> dict[str, Any] | None:
    """Return the status `status_id`, or None if unknown or deleted."""
    found: dict[str, Any] | None = ctx.pstate("$$statuses").get(status_id)
    return found if is_live(found) else None


def status_id_for_uuid(ctx: ReadContext, author: int, uuid: str) -> int | None:
    """Return the id a create with client `uuid` by `author` got, or None."""
    found = ctx.pstate("$$status_by_uuid").get(author, uuid)
    return None if found is None else int(found)


def author_statuses(ctx: ReadContext, author: int, max_id: int | None = None, limit: int = DEFAULT_PAGE) -> list[int]:
    """Return `author`'s status ids below `max_id`, newest first (their profile timeline, unfiltered)."""
    rows = ctx.pstate("$$author_statuses").range(author, None, max_id, reverse=True, limit=_clamp(limit))
    return [int(status_id) for status_id, _ in rows]


def author_deliveries(ctx: ReadContext, author: int, limit: int) -> list[dict[str, Any]]:
    """Return the delivery fields of `author`'s newest `limit` statuses (the home-timeline rebuild)."""
    return [delivery for _, delivery in ctx.pstate("$$author_statuses").range(author, reverse=True, limit=limit)]


def home_timeline(
    ctx: QueryContext,
    account_id: int,
    max_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    since_id: int | None = None,
    min_id: int | None = None,
    now_ms: int | None = None,
) -> list[int]:
    """Return a page of `account_id`'s home timeline, newest first (see `visible_page`)."""
    timelines: HomeTimelines = ctx.task_global("home_timelines")
    return visible_page(ctx, timelines, account_id, account_id, max_id, limit, since_id, min_id, now_ms)


def visible_page(
    ctx: QueryContext,
    timelines: HomeTimelines,
    key: int,
    viewer: int,
    max_id: int | None,
    limit: int,
    since_id: int | None,
    min_id: int | None,
    now_ms: int | None,
) -> list[int]:
    """Return a page of timeline `key` for `viewer`: no deleted statuses, repeated boosts or hidden accounts.

    Mastodon's paging: ids below `max_id` and above `since_id` / `min_id`; the newest such page, or with
    `min_id` the page just above it (how clients page upwards to newer statuses). Left out and the page
    filled from further on, like deleted statuses: statuses whose author (or boosted original's author)
    the viewer blocks, mutes (at `now_ms`, default the clock) or is blocked by, and statuses mentioning an
    account the viewer blocks or mutes (FeedManager#filter_from_home, applied at read time: see `fanout`).
    """
    limit = _clamp(limit)
    now = ctx.now_ms() if now_ms is None else now_ms
    above = max(since_id or 0, min_id or 0) or None
    upwards = min_id is not None
    out: list[int] = []
    boosted: set[int] = set()  # originals boosted on this page: another boost of one is left out

    def older(status_id: int) -> list[int]:
        return timelines.page(ctx, key, status_id, REBLOG_FALLOFF)

    while len(out) < limit:
        ids = timelines.page(ctx, key, max_id, limit - len(out), above, oldest=upwards)
        if not ids:
            return out
        found = ctx.query("core", "statuses_here", ids)
        dead = [i for i in ids if not is_live(found.get(i))]
        # Forget tombstones only: a status not stored yet (on workers its `store_status` hop lands on the
        # id's task after fanout may have delivered it) is left out of this page, not dropped for good.
        deleted = [i for i in dead if i in found]
        if deleted:
            timelines.forget(key, deleted)
        hidden = hidden_from(ctx, viewer, [found[i] for i in ids if i not in dead], now)
        live = without_repeated_boosts([i for i in ids if i not in dead and i not in hidden], found, boosted, older)
        if upwards:
            out, above = live + out, ids[0]  # later pages are newer: they go in front
        else:
            out, max_id = out + live, ids[-1]
    return out


def hidden_from(ctx: ReadContext, viewer: int, statuses: list[dict[str, Any]], now_ms: int) -> set[int]:
    """Return the ids among `statuses` a home or list timeline hides from `viewer` for blocks and mutes."""
    people = {int(s["author"]) for s in statuses}
    people.update(int(s["reblog_author"]) for s in statuses if s.get("reblog_author") is not None)
    people.update(int(m) for s in statuses for m in s.get("mentions") or ())
    rels = relations(ctx, viewer, people, now_ms, follows_needed=())
    if not any(rel.blocks or rel.blocked_by or rel.mutes for rel in rels.values()):
        return set()  # nobody blocked or muted on this page (relations: three reads if none at all)

    def hides(account: int | None, blocked_by_counts: bool) -> bool:
        rel = rels.get(int(account)) if account is not None else None
        return rel is not None and (rel.blocks or rel.mutes or (blocked_by_counts and rel.blocked_by))

    return {
        int(s["id"])
        for s in statuses
        if hides(s["author"], True)
        or hides(s.get("reblog_author"), True)
        or any(hides(m, False) for m in s.get("mentions") or ())
    }


def statuses_here(ctx: ReadContext, status_ids: list[int]) -> dict[int, Any]:
    """Return the `$$statuses` values (tombstones included) of the ids this task owns (runs everywhere)."""
    return _owned(ctx, "$$statuses", status_ids)


def accounts_here(ctx: ReadContext, account_ids: list[int]) -> dict[int, Any]:
    """Return the accounts among `account_ids` that this task owns (runs everywhere)."""
    return _owned(ctx, "$$accounts", account_ids)


def fanout_backlog(ctx: ReadContext) -> int:
    """Return how many paged fanouts (status and bucket, memberships or tag) this task still has to continue."""
    key = task_key("fanout", ctx.task, ctx.tasks, ctx.task_of)
    return int(ctx.pstate("$$fanout_continuations").size(key)) + int(ctx.pstate("$$fanout_cursors").size(key))


def home_deliveries(ctx: QueryContext) -> int:
    """Return how many ids fanout and rebuilds inserted into this task's home timelines since it started."""
    timelines: HomeTimelines = ctx.task_global("home_timelines")
    return int(timelines.deliveries)


def merge_dicts(results: list[dict[int, Any]]) -> dict[int, Any]:
    """Merge per-task dicts (each task answers for disjoint keys)."""
    merged: dict[int, Any] = {}
    for result in results:
        merged.update(result)
    return merged


def _owned(ctx: ReadContext, pstate: str, keys: list[int]) -> dict[int, Any]:
    mine = [key for key in keys if ctx.task_of(key) == ctx.task]
    if not mine:
        return {}
    values = ctx.pstate(pstate).multi_get(mine)
    return {key: value for key, value in zip(mine, values, strict=True) if value is not None}


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))
