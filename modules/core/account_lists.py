"""An account's list of statuses, newest addition first: favourites, bookmarks and pins all have this shape.

Two PStates on the account's task, written together by the `interactions` topology:

    by_status  account -> status id -> entry id      membership, the viewer flags, removal
    entries    account -> entry id -> status id      the list, paged by entry id

An entry id is a time-ordered id issued when the status is added (`ids`, clock `$$interaction_id_clock`),
so a page cursor says *when* something was favourited, not when the status was written: Mastodon pages
favourites and bookmarks the same way, by the favourite's or bookmark's own id. Clients treat it as opaque.
A retried add finds the status present and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.core.ids import issue_id
from pstates.schema import Map, SortedMap
from topology.context import ReadContext, StreamContext
from topology.module import StreamTopologySpec

DEFAULT_PAGE = 20
MAX_PAGE = 40
MAX_ACCOUNTS_PAGE = 80  # who favourited / boosted a status: Mastodon's account lists go to 80
CLOCK = "$$interaction_id_clock"


@dataclass(frozen=True, slots=True)
class AccountList:
    """The two PStates of one kind of list, and how to add, remove and page."""

    by_status: str
    entries: str
    source: int  # of its entry ids: each list's own clock (`modules.core.ids`)

    def declare(self, topology: StreamTopologySpec) -> None:
        """Declare both PStates on `topology`."""
        topology.pstate(self.by_status, Map(int, SortedMap(int, int)))
        topology.pstate(self.entries, Map(int, SortedMap(int, int)))

    def entry_of(self, ctx: ReadContext, account: int, status_id: int) -> int | None:
        """Return the entry id of `status_id` in `account`'s list, or None."""
        entry = ctx.pstate(self.by_status).get(account, status_id)
        return None if entry is None else int(entry)

    def add(self, ctx: StreamContext, account: int, status_id: int) -> int | None:
        """Add `status_id` to `account`'s list; return its new entry id, or None if it was there already."""
        by_status = ctx.pstate(self.by_status)
        if by_status.contains(account, status_id):
            return None
        entry = issue_id(ctx, "interactions", CLOCK, self.source)
        by_status.put(account, status_id, entry)
        ctx.pstate(self.entries).put(account, entry, status_id)
        return entry

    def remove(self, ctx: StreamContext, account: int, status_id: int) -> int | None:
        """Remove `status_id` from `account`'s list; return the entry id it had, or None if it was absent."""
        entry = self.entry_of(ctx, account, status_id)
        if entry is None:
            return None
        ctx.pstate(self.by_status).remove(account, status_id)
        ctx.pstate(self.entries).remove(account, entry)
        return entry

    def size(self, ctx: ReadContext, account: int) -> int:
        """Return how many statuses `account`'s list holds."""
        return int(ctx.pstate(self.entries).size(account))

    def newest(self, ctx: ReadContext, account: int) -> list[tuple[int, int]]:
        """Return every `(entry id, status id)` of `account`'s list, newest first (short lists: pins)."""
        return [(int(e), int(s)) for e, s in ctx.pstate(self.entries).range(account, reverse=True)]

    def page(
        self,
        ctx: ReadContext,
        account: int,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> list[list[int]]:
        """Return `[entry id, status id]` pairs newest first, bounded like Mastodon's pages (exclusive ids)."""
        return entry_page(ctx.pstate(self.entries), account, max_id, since_id, min_id, limit)


def entry_page(
    view: Any,
    key: int,
    max_id: int | None,
    since_id: int | None,
    min_id: int | None,
    limit: int,
    most: int = MAX_PAGE,
) -> list[list[int]]:
    """Return `[entry, value]` of the sorted map at `key`: below `max_id`, above `since_id` / `min_id`."""
    rows = page_rows(view, key, max_id, since_id, min_id, limit, most)
    return [[int(entry), int(value)] for entry, value in rows]


def page_rows(
    view: Any,
    key: object,
    max_id: int | None,
    since_id: int | None,
    min_id: int | None,
    limit: int,
    most: int = MAX_PAGE,
) -> list[tuple[Any, Any]]:
    """Return `(entry, value)` rows of the sorted map at `key`, newest first, bounded like Mastodon's pages.

    Every bound is exclusive. `min_id` returns the page just above it (read oldest first, then reversed),
    `since_id` the newest page above it; `limit` is clamped to 1..`most`.
    """
    limit = max(1, min(int(limit), most))
    if min_id is not None:
        rows: list[tuple[Any, Any]] = view.range(key, min_id + 1, max_id, limit=limit)[::-1]
        return rows
    low = None if since_id is None else since_id + 1
    newest: list[tuple[Any, Any]] = view.range(key, low, max_id, reverse=True, limit=limit)
    return newest
