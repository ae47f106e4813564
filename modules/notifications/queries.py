"""Reads of notification timelines, all routed by the recipient: pages, one, unread counts, groups.

Paging is Mastodon's: `max_id` (older than), `since_id` (newer than, newest first), `min_id` (the ones
right after it, returned newest first). `types` keeps only those types, `exclude_types` drops those,
`from_account` keeps one actor's. A timeline holds at most the cap (800), so filters scan it in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from modules.notifications import grouping
from modules.notifications.ops import MARKERS
from modules.notifications.timeline import NOTIFICATIONS
from topology.context import ReadContext

DEFAULT_LIMIT = 40
MAX_LIMIT = 80
UNREAD_DEFAULT = 100
UNREAD_MAX = 1_000

Notification = dict[str, Any]


def notifications(
    ctx: ReadContext,
    account: int,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    types: list[str] | None = None,
    exclude_types: list[str] | None = None,
    from_account: int | None = None,
) -> list[Notification]:
    """Return a page of `account`'s notifications, newest first."""
    wanted = matching(walk(ctx, account, max_id, since_id, min_id), types, exclude_types, from_account)
    page = take(wanted, clamp(limit, MAX_LIMIT))
    return page[::-1] if min_id is not None else page


def notification(ctx: ReadContext, account: int, notification_id: int) -> Notification | None:
    """Return one of `account`'s notifications, or None."""
    found: Notification | None = ctx.pstate(NOTIFICATIONS).get(account, notification_id)
    return found


def unread_count(
    ctx: ReadContext,
    account: int,
    limit: int = UNREAD_DEFAULT,
    types: list[str] | None = None,
    exclude_types: list[str] | None = None,
) -> int:
    """Return how many notifications are newer than the `notifications` marker, at most `limit`."""
    marker = ctx.pstate(MARKERS).get(account, "notifications")
    since = None if marker is None else int(marker["last_read_id"])
    wanted = matching(walk(ctx, account, None, since, None), types, exclude_types, None)
    return len(take(wanted, clamp(limit, UNREAD_MAX)))


def grouped(
    ctx: ReadContext,
    account: int,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    types: list[str] | None = None,
    exclude_types: list[str] | None = None,
    from_account: int | None = None,
    grouped_types: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Return a page of notification groups (Mastodon 4.3's `/api/v2/notifications`), newest first."""
    filters = (types, exclude_types, from_account)
    members = list(matching(walk(ctx, account, max_id, None, None), *filters))
    walked = matching(walk(ctx, account, max_id, since_id, min_id), *filters)
    groups = grouping.group_page(walked, members, clamp(limit, MAX_LIMIT), grouped_types)
    return groups[::-1] if min_id is not None else groups


def walk(
    ctx: ReadContext, account: int, max_id: int | None, since_id: int | None, min_id: int | None
) -> Iterator[Notification]:
    """Yield notifications strictly between the bounds: newest first, or oldest first after `min_id`."""
    view = ctx.pstate(NOTIFICATIONS)
    if min_id is not None:
        rows = view.range(account, min_id + 1, max_id)
    else:
        rows = view.range(account, None if since_id is None else since_id + 1, max_id, reverse=True)
    for _, value in rows:
        if not value.get("filtered"):  # held for a notification request (policies.py)
            yield value


def matching(
    values: Iterable[Notification],
    types: list[str] | None,
    exclude_types: list[str] | None,
    from_account: int | None,
) -> Iterator[Notification]:
    """Yield the notifications that pass the type and account filters."""
    keep = None if not types else frozenset(types)
    drop = frozenset(exclude_types or ())
    for value in values:
        if keep is not None and value["type"] not in keep:
            continue
        if value["type"] in drop or (from_account is not None and value["account"] != from_account):
            continue
        yield value


def take(values: Iterable[Notification], limit: int) -> list[Notification]:
    """Return the first `limit` values."""
    out: list[Notification] = []
    for value in values:
        if len(out) == limit:
            break
        out.append(value)
    return out


def clamp(limit: int, most: int) -> int:
    """Return `limit` within 1..`most`."""
    return max(1, min(int(limit), most))
