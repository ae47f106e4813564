"""Read functions of the relationships module; each runs on the task owning its first argument.

Lists page like Mastodon's: newest first, `max_id` (exclusive upper bound), `since_id` (exclusive lower
bound, newest first) and `min_id` (exclusive lower bound, the page just above it, still returned newest
first). The cursor is the other account's id: an order that is stable, needs no second index, and is all
a client following `Link` headers needs (Mastodon pages by follow row id instead).

Mute expiry: a mute past its `expires_at` reads as not muting. Queries take the time as `now_ms`, by
default the cluster clock (`ctx.now_ms()`); a topology calling a query passes its `ctx.time_ms`, so a
replay decides the same way.
"""

from __future__ import annotations

from typing import Any

from modules.relationships.buckets import salt_for
from modules.relationships.endorsements import ENDORSEMENTS, is_endorsed
from modules.relationships.records import DEFAULT_OPTIONS, mute_active
from topology.context import QueryContext, ReadContext

DEFAULT_PAGE = 40
MAX_PAGE = 80
MAX_BUCKET_PAGE = 10_000


def relationship(ctx: QueryContext, account: int, other: int, now_ms: int | None = None) -> dict[str, Any]:
    """Return Mastodon's Relationship of `account` towards `other` at `now_ms` (default: the clock)."""
    following = ctx.pstate("$$following").get(account, other)
    requested = ctx.pstate("$$requested").get(account, other)
    options = following or requested or DEFAULT_OPTIONS
    mute = ctx.pstate("$$muting").get(account, other)
    muting = mute_active(mute, _now(ctx, now_ms))
    return {
        "id": other,
        "following": following is not None,
        "showing_reblogs": (following or requested) is not None and bool(options["reblogs"]),
        "notifying": (following or requested) is not None and bool(options["notify"]),
        "languages": options["languages"] if following or requested else None,
        "followed_by": ctx.pstate("$$followers").contains(account, other),
        "blocking": ctx.pstate("$$blocking").contains(account, other),
        "blocked_by": ctx.pstate("$$blocked_by").contains(account, other),
        "muting": muting,
        "muting_notifications": muting and bool(mute and mute["notifications"]),
        "requested": requested is not None,
        "requested_by": ctx.pstate("$$follow_requests").contains(account, other),
        "domain_blocking": False,
        "endorsed": is_endorsed(ctx, account, other),
        "note": ctx.pstate("$$notes").get(account, other, ""),
    }


def relationships(ctx: QueryContext, account: int, others: list[int], now_ms: int | None = None) -> list[Any]:
    """Return the Relationship of `account` towards each of `others`, in order."""
    now = _now(ctx, now_ms)
    return [relationship(ctx, account, other, now) for other in others]


def hidden_accounts(ctx: QueryContext, account: int, others: list[int], now_ms: int | None = None) -> list[int]:
    """Return those of `others` whose statuses `account` must not be shown: blocked either way or muted."""
    now = _now(ctx, now_ms)
    blocking, blocked_by, muting = (ctx.pstate(name) for name in ("$$blocking", "$$blocked_by", "$$muting"))
    return [
        other
        for other in others
        if blocking.contains(account, other)
        or blocked_by.contains(account, other)
        or mute_active(muting.get(account, other), now)
    ]


def counts(ctx: ReadContext, account: int) -> dict[str, int]:
    """Return how many accounts `account` follows and is followed by."""
    return {
        "followers_count": int(ctx.pstate("$$followers").size(account)),
        "following_count": int(ctx.pstate("$$following").size(account)),
    }


def followers(ctx: ReadContext, account: int, *page: Any) -> list[int]:
    """Return a page of `account`'s followers' ids."""
    return id_page(ctx.pstate("$$followers"), account, *page)


def following(ctx: ReadContext, account: int, *page: Any) -> list[int]:
    """Return a page of the ids `account` follows."""
    return id_page(ctx.pstate("$$following"), account, *page)


def follow_requests(ctx: ReadContext, account: int, *page: Any) -> list[int]:
    """Return a page of the ids waiting for `account` to authorize their follow."""
    return id_page(ctx.pstate("$$follow_requests"), account, *page)


def blocks(ctx: ReadContext, account: int, *page: Any) -> list[int]:
    """Return a page of the ids `account` blocks."""
    return id_page(ctx.pstate("$$blocking"), account, *page)


def mutes(ctx: QueryContext, account: int, now_ms: int | None = None, *page: Any) -> list[int]:
    """Return a page of the ids `account` mutes at `now_ms` (expired mutes left out)."""
    view, now = ctx.pstate("$$muting"), _now(ctx, now_ms)
    ids = id_page(view, account, *page)
    return [muted for muted in ids if mute_active(view.get(account, muted), now)]


def endorsements(ctx: ReadContext, account: int, *page: Any) -> list[int]:
    """Return a page of the ids `account` endorses (features on its profile)."""
    return id_page(ctx.pstate(ENDORSEMENTS), account, *page)


def follower_buckets(ctx: ReadContext, followee: int) -> list[dict[str, Any]]:
    """Return where `followee`'s followers live: per bucket its task, routing key and size."""
    buckets = ctx.pstate("$$follower_buckets").get(followee, [])
    return [{"task": task, "key": [followee, salt], "count": count} for task, salt, count in buckets]


def bucket_followers(
    ctx: ReadContext, key: tuple[int, int], after: int | None = None, limit: int = 1_000
) -> list[list[Any]]:
    """Return `[follower, options]` of one bucket in id order, after `after`: a fanout reads these pages."""
    start = None if after is None else after + 1
    rows = ctx.pstate("$$partitioned_followers").range(tuple(key), start, limit=_clamp(limit, MAX_BUCKET_PAGE))
    return [[follower, options] for follower, options in rows]


def followers_on_task(
    ctx: ReadContext, task: int, followee: int, after: int | None = None, limit: int = 1_000
) -> list[list[Any]]:
    """Return `followee`'s followers stored on `task` (run everywhere: only `task` answers)."""
    if ctx.task != task:
        return []
    # The salt is a pure function of (followee, task): a task finds its own bucket without asking the owner.
    salt = salt_for(followee, task, ctx.tasks, ctx.task_of)
    return bucket_followers(ctx, (followee, salt), after, limit)


def concatenate(results: list[list[Any]]) -> list[Any]:
    """Join per-task result lists in task order."""
    return [item for result in results for item in result]


def id_page(
    view: Any,
    key: int,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = DEFAULT_PAGE,
) -> list[int]:
    """Return up to `limit` ids of the collection at `key`, newest (largest) first, bounded like Mastodon."""
    limit = _clamp(limit, MAX_PAGE)
    if min_id is not None:
        rows = view.range(key, min_id + 1, max_id, limit=limit)
        return [_id(row) for row in reversed(rows)]
    start = None if since_id is None else since_id + 1
    return [_id(row) for row in view.range(key, start, max_id, reverse=True, limit=limit)]


def _id(row: Any) -> int:
    return int(row[0] if isinstance(row, tuple) else row)


def _now(ctx: QueryContext, now_ms: int | None) -> int:
    return ctx.now_ms() if now_ms is None else now_ms


def _clamp(limit: int, most: int) -> int:
    return max(1, min(int(limit), most))
