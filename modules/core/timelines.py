"""Home timelines in memory: per account the newest status ids, deduplicated, rebuilt lazily.

The task global `home_timelines` of a task holds the timelines of the accounts that task owns. A timeline
is a ring of at most `cap` ids (a row of one numpy array per task), oldest to newest (ids are time-ordered).
Fanout hands over all the deliveries of a microbatch to a task at once (`deliver_many`): they are sorted
and deduplicated with numpy, and every timeline whose new ids are all newer than its newest (the common
case) gets them as a vectorized append; an older id (another task's clock, a rebuild) is inserted in
order, and an id already present is skipped, so a delivery repeated by a retried record or a rebuild is
harmless.

Nothing here is durable. A timeline is *loaded* once it has been merged with a rebuild: on its first read
in a process, the account's followees' (and its own) recent statuses are read from `$$author_statuses`,
filtered by the same rule fanout uses (`delivery.reaches`, and the members of the account's exclusive
lists left out), and merged with whatever fanout delivered
since the process started. So after a restart a timeline reads the same as if the process had never
stopped, as long as the follow graph did not change (Mastodon removes an unfollowed account's statuses
at unfollow time; here they stay until a restart or until newer statuses push them out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

import numpy as np

from modules.core.delivery import reaches
from modules.core.list_delivery import exclusive_members
from modules.core.row_index import MISSING, RowIndex
from topology.context import ReadContext

DEFAULT_CAP = 600
FOLLOWING_PAGE = 80  # relationships' largest page
INITIAL_ROWS = 64
EMPTY = np.iinfo(np.int64).min  # the newest id of an empty timeline
FULL = np.iinfo(np.int64).max  # padding after the ids of a row being merged
WINDOW = 16  # an id older than a timeline's newest is inserted vectorized if it belongs among its last WINDOW
WIDE_WINDOW = 256  # the second try for the ids that do not: a burst of statuses from a task that ran behind


class HomeTimelines:
    """The home timelines of one task's accounts: one numpy ring of `cap` ids per account.

    Row `r` of `_ids` is an account's ring; `_count[r]` counts the ids ever appended to it (the next write
    goes to `_count[r] % cap`) and `_newest[r]` is its newest id. A batch of deliveries (`deliver_many`) is
    sorted by (row, id) and deduplicated with numpy (rows found by a numpy hash table, `row_index`); every
    row whose new ids are all newer than its newest (the common case) is appended to with a handful of
    vectorized writes, older ids are merged into the row's last ids (`_insert_near_end`), and what reaches
    further back takes the slow path: the row as a sorted list, skipping ids already present.
    """

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.cap = cap
        self._row: dict[int, int] = {}
        self._ids = np.zeros((INITIAL_ROWS, cap), dtype=np.int64)
        self._count = np.zeros(INITIAL_ROWS, dtype=np.int64)
        self._newest = np.full(INITIAL_ROWS, EMPTY, dtype=np.int64)
        self._index = RowIndex()  # `_row` for numpy: a whole batch's rows at once
        self._loaded: set[int] = set()
        self.deliveries = 0

    # -- writes ----------------------------------------------------------------------------------------

    def deliver(self, status_id: int, accounts: Iterable[int]) -> None:
        """Add `status_id` to each account's timeline (a no-op where it is already present)."""
        self.deliver_many([(status_id, list(accounts))])

    def deliver_ids(self, account: int, status_ids: list[int]) -> None:
        """Add several ids to one account's timeline."""
        self.deliver_many([(status_id, [account]) for status_id in status_ids])

    def deliver_many(self, deliveries: Sequence[tuple[int, Sequence[int]]]) -> None:
        """Add each `(status_id, accounts)`: vectorized over every (account, id) pair of the batch."""
        sizes = [len(accounts) for _, accounts in deliveries]
        total = sum(sizes)
        if total == 0:
            return
        accounts = np.fromiter(chain.from_iterable(a for _, a in deliveries), dtype=np.int64, count=total)
        self.deliver_pairs(np.repeat(np.array([s for s, _ in deliveries], dtype=np.int64), sizes), accounts)

    def deliver_pairs(self, sid: np.ndarray, accounts: np.ndarray) -> None:
        """Add status `sid[i]` to the timeline of `accounts[i]`, for every i (int64 arrays of one length).

        Each pair counts once, applied oldest id first (so which ids went into a full timeline and straight
        out again, and were counted in `deliveries`, does not depend on the order within the batch).
        """
        total = int(accounts.size)
        if total == 0:
            return
        row, sid = sorted_pairs(self._rows_of(accounts), sid)
        starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        lengths = np.diff(np.append(starts, row.size))
        group_rows = row[starts]
        appends = sid[starts] > self._newest[group_rows]
        if not appends.all():
            slow = ~np.repeat(appends, lengths)
            self._insert_near_end(row[slow], sid[slow])
            row, sid = row[~slow], sid[~slow]
            starts, lengths, group_rows = starts[appends], lengths[appends], group_rows[appends]
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        if row.size == 0:
            return
        self.deliveries += int(row.size)
        self._newest[group_rows] = sid[np.cumsum(lengths) - 1]
        rank = np.arange(row.size, dtype=np.int64) - np.repeat(starts, lengths)
        if lengths.max() > self.cap:  # a run longer than the ring: only its newest `cap` ids stay
            kept = rank >= np.repeat(lengths, lengths) - self.cap
            row, sid, rank = row[kept], sid[kept], rank[kept]
        self._ids[row, (self._count[row] + rank) % self.cap] = sid
        self._count[group_rows] += lengths

    def forget(self, account: int, status_ids: Iterable[int]) -> None:
        """Drop ids (deleted statuses) from `account`'s timeline."""
        r = self._row.get(account)
        if r is not None and self._count[r]:
            gone = set(status_ids)
            self._set_row(r, [i for i in self._sorted(r) if i not in gone])

    # -- reads -----------------------------------------------------------------------------------------

    def peek(self, account: int) -> list[int]:
        """Return the ids delivered to `account` in this process, newest first, without a rebuild."""
        r = self._row.get(account)
        return [] if r is None else self._sorted(r)[::-1]

    def page(
        self,
        ctx: ReadContext,
        account: int,
        max_id: int | None,
        limit: int,
        above: int | None = None,
        oldest: bool = False,
    ) -> list[int]:
        """Return up to `limit` ids in (`above`, `max_id`), newest first, rebuilding the timeline on first read.

        The page is the newest such ids, or with `oldest` the ones just above `above` (Mastodon's `min_id`,
        how clients page upwards).
        """
        if account not in self._loaded:
            self.rebuild(ctx, account)
        r = self._row.get(account)
        if r is None:
            return []
        timeline = self._sorted_array(r)
        end = timeline.size if max_id is None else int(np.searchsorted(timeline, max_id, side="left"))
        start = 0 if above is None else int(np.searchsorted(timeline, above, side="right"))
        window = timeline[start:end]
        chosen = window[:limit] if oldest else window[-limit:]
        out: list[int] = chosen[::-1].tolist()
        return out

    # -- helpers ---------------------------------------------------------------------------------------

    def _rows_of(self, accounts: np.ndarray) -> np.ndarray:
        """Return the row of each account (int64 array), giving new accounts rows: no loop per account."""
        rows = self._index.lookup(accounts)
        missing = rows == MISSING
        if missing.any():
            new = np.unique(accounts[missing])
            new_rows = self._new_rows(new)
            self._index.add(new, new_rows)
            rows[missing] = new_rows[np.searchsorted(new, accounts[missing])]
        return rows

    def _new_rows(self, accounts: np.ndarray) -> np.ndarray:
        """Give rows to `accounts` (distinct, without rows yet), growing the arrays if they are full."""
        first = len(self._row)
        rows = np.arange(first, first + accounts.size, dtype=np.int64)
        self._row.update(zip(accounts.tolist(), rows.tolist(), strict=True))
        needed, size = first + accounts.size, self._count.size
        if needed > size:
            # np.zeros maps fresh zero pages lazily: rows not yet used cost address space, not memory
            grown = max(needed, 2 * size)
            ids = np.zeros((grown, self.cap), dtype=np.int64)
            ids[:size] = self._ids
            self._ids = ids
            self._count = np.concatenate((self._count, np.zeros(grown - size, dtype=np.int64)))
            self._newest = np.concatenate((self._newest, np.full(grown - size, EMPTY, dtype=np.int64)))
        return rows

    def _sorted_array(self, r: int) -> np.ndarray:
        count, cap = int(self._count[r]), self.cap
        if count <= cap:
            return self._ids[r, :count]
        head = count % cap
        return np.concatenate((self._ids[r, head:], self._ids[r, :head]))

    def _sorted(self, r: int) -> list[int]:
        out: list[int] = self._sorted_array(r).tolist()
        return out

    def _set_row(self, r: int, timeline: list[int]) -> None:
        timeline = timeline[-self.cap :]
        self._ids[r, : len(timeline)] = timeline
        self._count[r] = len(timeline)
        self._newest[r] = timeline[-1] if timeline else EMPTY

    def _insert_near_end(self, row: np.ndarray, sid: np.ndarray, width: int = WINDOW) -> None:
        """Insert ids older than their row's newest (pairs sorted by row then id, distinct), vectorized.

        The usual such id is a little older than the newest (a status of another task, whose clock or
        stream ran behind): it belongs among the last `WINDOW` ids of the ring (or anywhere in a timeline
        shorter than that). For each row, the ids of its window not older than its oldest new id (its
        *tail*) are merged with its new ids in one flat sort over all rows, deduplicated, and written back
        from the tail's first slot on (an id keeps its slot when newer ids are inserted after it). Rows
        whose new ids reach further back are tried again with `WIDE_WINDOW`, then go through
        `_insert_slowly`.
        """
        cap = self.cap
        starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        lengths = np.diff(np.append(starts, row.size))
        rows = row[starts]
        counts = self._count[rows]
        have = np.minimum(counts, width)  # a timeline shorter than the window is a window of its own
        columns = np.arange(width)
        window = self._ids[rows[:, None], (counts[:, None] - have[:, None] + columns) % cap]
        tail = (columns[None, :] < have[:, None]) & (window >= sid[starts][:, None])
        kept = tail.sum(axis=1)  # the tail's length: window ids not older than the row's oldest new id
        ok = (lengths <= cap - width) & ((counts <= width) | (kept < have))
        if not ok.all():
            pairs_ok = np.repeat(ok, lengths)
            if width < WIDE_WINDOW:
                self._insert_near_end(row[~pairs_ok], sid[~pairs_ok], WIDE_WINDOW)
            else:
                self._insert_slowly(row[~pairs_ok], sid[~pairs_ok])
            if not ok.any():
                return
            row, sid = row[pairs_ok], sid[pairs_ok]
            rows, counts, kept, window, tail = rows[ok], counts[ok], kept[ok], window[ok], tail[ok]
        merged_row, merged_sid = sorted_pairs(  # an id already in the tail is kept once
            np.concatenate((np.repeat(rows, kept), row)), np.concatenate((window[tail], sid))
        )
        sizes = np.diff(np.append(np.flatnonzero(fresh_starts(merged_row)), merged_row.size))
        first = counts - kept  # where each row's tail starts, counted in ids ever appended
        rank = np.arange(merged_row.size, dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        self._ids[merged_row, (np.repeat(first, sizes) + rank) % cap] = merged_sid
        added = sizes - kept
        self._count[rows] = counts + added
        self._newest[rows] = merged_sid[np.cumsum(sizes) - 1]
        self.deliveries += int(added.sum())

    def _insert_slowly(self, rows: np.ndarray, sids: np.ndarray) -> None:
        """Insert ids not newer than a row's newest, skipping ids already present.

        Only the tail of the row from the oldest new id on is rewritten: in a ring, an id keeps its slot when
        newer ids are inserted after it (the oldest ids pushed out of a full ring are the ones skipped).
        """
        by_row: dict[int, list[int]] = {}
        for r, s in zip(rows.tolist(), sids.tolist(), strict=True):
            by_row.setdefault(r, []).append(s)
        ids, cap = self._ids, self.cap
        for r, new in by_row.items():
            count = int(self._count[r])
            size = min(count, cap)
            timeline = self._sorted_array(r)
            lo = int(np.searchsorted(timeline, new[0], side="left"))  # `new` is sorted
            tail: list[int] = timeline[lo:].tolist()
            merged = sorted(set(tail).union(new))
            added = len(merged) - len(tail)
            if not added:
                continue
            dropped = size + added - cap  # the oldest ids a full ring pushes out
            first = count - size + lo
            for j, status_id in enumerate(merged):
                if lo + j >= dropped:
                    ids[r, (first + j) % cap] = status_id
            self._count[r] = count + added
            self._newest[r] = merged[-1]
            self.deliveries += added

    def rebuild(self, ctx: ReadContext, account: int) -> None:
        """Merge the recent statuses of `account` and its followees that reach it into its timeline."""
        following = ctx.pstate("$$following", module="relationships")

        def follows(a: int, b: int) -> bool:
            return bool(following.contains(a, b))

        excluded = exclusive_members(ctx, account)  # their statuses go to an exclusive list, not home
        for author in [account, *followees(ctx, account)]:
            if author in excluded:
                continue
            options = None if author == account else following.get(account, author)
            if author != account and options is None:
                continue  # unfollowed while we paged
            rows = ctx.query("core", "author_deliveries", author, self.cap)
            self.deliver_ids(account, [d["id"] for d in rows if reaches(d, account, options, follows)])
        self._loaded.add(account)


def sorted_pairs(row: np.ndarray, sid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct `(row, sid)` pairs sorted by row, then id (int64 arrays, not empty).

    When rows and the span of the ids fit in one int64 together (a batch's ids are close in time: nearly
    always), pairs are packed into one key and sorted with a plain `np.sort`, several times cheaper than
    `np.lexsort` on two keys; otherwise `np.lexsort`.
    """
    low = int(sid.min())
    shift = (int(sid.max()) - low).bit_length()
    if int(row.max()).bit_length() + shift <= 62:
        packed = np.sort((row << shift) | (sid - low))
        if packed.size > 1:
            packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
        return packed >> shift, (packed & ((1 << shift) - 1)) + low
    order = np.lexsort((sid, row))
    row, sid = row[order], sid[order]
    fresh = np.empty(row.size, dtype=bool)
    fresh[0] = True
    np.logical_or(row[1:] != row[:-1], sid[1:] != sid[:-1], out=fresh[1:])
    return row[fresh], sid[fresh]


def fresh_starts(row: np.ndarray) -> np.ndarray:
    """Return a mask of where each run of equal values in `row` (sorted, not empty) starts."""
    starts = np.empty(row.size, dtype=bool)
    starts[0] = True
    np.not_equal(row[1:], row[:-1], out=starts[1:])
    return starts


def followees(ctx: ReadContext, account: int) -> list[int]:
    """Return every account `account` follows (relationships' `following`, page by page)."""
    out: list[int] = []
    max_id: Any = None
    while True:
        page = ctx.query("relationships", "following", account, max_id, None, None, FOLLOWING_PAGE)
        out += page
        if len(page) < FOLLOWING_PAGE:
            return out
        max_id = page[-1]
