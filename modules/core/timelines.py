"""Home timelines in memory: per account the newest status ids, deduplicated, rebuilt lazily.

The task global `home_timelines` of a task holds the timelines of the accounts that task owns. A timeline
is a sorted list of at most `cap` ids (ids are time-ordered, so this is newest-last order); a delivery is
an append in the common case (the id is the newest) and otherwise a binary-search insert, and an id already
present is skipped, so a delivery repeated by a retried record or a rebuild is harmless.

Nothing here is durable. A timeline is *loaded* once it has been merged with a rebuild: on its first read
in a process, the account's followees' (and its own) recent statuses are read from `$$author_statuses`,
filtered by the same rule fanout uses (`delivery.reaches`), and merged with whatever fanout delivered
since the process started. So after a restart a timeline reads the same as if the process had never
stopped, as long as the follow graph did not change (Mastodon removes an unfollowed account's statuses
at unfollow time; here they stay until a restart or until newer statuses push them out).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from modules.core.delivery import reaches
from topology.context import ReadContext

DEFAULT_CAP = 600
FOLLOWING_PAGE = 80  # relationships' largest page


class HomeTimelines:
    """The home timelines of one task's accounts."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.cap = cap
        self._timelines: dict[int, list[int]] = {}
        self._loaded: set[int] = set()
        self.deliveries = 0

    def deliver(self, status_id: int, accounts: Iterable[int]) -> None:
        """Add `status_id` to each account's timeline (a no-op where it is already present)."""
        timelines, cap = self._timelines, self.cap
        for account in accounts:
            timeline = timelines.get(account)
            if timeline is None:
                timelines[account] = [status_id]
            elif status_id > timeline[-1]:
                timeline.append(status_id)
            else:
                at = bisect.bisect_left(timeline, status_id)
                if at < len(timeline) and timeline[at] == status_id:
                    continue
                timeline.insert(at, status_id)
            self.deliveries += 1
            if len(timelines[account]) > cap:
                del timelines[account][0]

    def peek(self, account: int) -> list[int]:
        """Return the ids delivered to `account` in this process, newest first, without a rebuild."""
        return list(reversed(self._timelines.get(account, [])))

    def page(self, ctx: ReadContext, account: int, max_id: int | None, limit: int) -> list[int]:
        """Return up to `limit` ids below `max_id`, newest first, rebuilding the timeline on first read."""
        if account not in self._loaded:
            self.rebuild(ctx, account)
        timeline = self._timelines.get(account, [])
        end = len(timeline) if max_id is None else bisect.bisect_left(timeline, max_id)
        return timeline[max(0, end - limit) : end][::-1]

    def forget(self, account: int, status_ids: Iterable[int]) -> None:
        """Drop ids (deleted statuses) from `account`'s timeline."""
        timeline = self._timelines.get(account)
        if timeline:
            gone = set(status_ids)
            timeline[:] = [i for i in timeline if i not in gone]

    def rebuild(self, ctx: ReadContext, account: int) -> None:
        """Merge the recent statuses of `account` and its followees that reach it into its timeline."""
        following = ctx.pstate("$$following", module="relationships")

        def follows(a: int, b: int) -> bool:
            return bool(following.contains(a, b))

        for author in [account, *followees(ctx, account)]:
            options = None if author == account else following.get(account, author)
            if author != account and options is None:
                continue  # unfollowed while we paged
            rows = ctx.query("core", "author_deliveries", author, self.cap)
            self.deliver_ids(account, [d["id"] for d in rows if reaches(d, account, options, follows)])
        self._loaded.add(account)

    def deliver_ids(self, account: int, status_ids: list[int]) -> None:
        """Add several ids to one account's timeline."""
        for status_id in status_ids:
            self.deliver(status_id, (account,))


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
