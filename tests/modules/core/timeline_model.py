"""The reference home timeline the numpy rings are tested against: a sorted list of at most `cap` ids per account."""

from __future__ import annotations

import bisect
from collections.abc import Iterable


class TimelineModel:
    """Sorted lists of at most `cap` ids per account; each new (id, account) pair counts as one delivery."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.timelines: dict[int, list[int]] = {}
        self.loaded: set[int] = set()  # accounts whose timeline was rebuilt on a first read
        self.deliveries = 0

    def deliver(self, status_id: int, accounts: Iterable[int]) -> None:
        """Insert `status_id` into each of `accounts`' timelines (once), dropping the oldest past the cap."""
        for account in accounts:
            timeline = self.timelines.setdefault(account, [])
            at = bisect.bisect_left(timeline, status_id)
            if at < len(timeline) and timeline[at] == status_id:
                continue
            timeline.insert(at, status_id)
            self.deliveries += 1
            if len(timeline) > self.cap:
                del timeline[0]

    def deliver_pairs(self, pairs: set[tuple[int, int]]) -> None:
        """Apply a batch of (status id, account) pairs oldest first, as the rings apply a batch."""
        for status_id, account in sorted(pairs):
            self.deliver(status_id, [account])

    def forget(self, account: int, status_ids: Iterable[int]) -> None:
        """Remove `status_ids` from `account`'s timeline."""
        gone = set(status_ids)
        self.timelines[account] = [i for i in self.timelines.get(account, []) if i not in gone]

    def peek(self, account: int) -> list[int]:
        """The ids of `account`'s timeline, newest first."""
        return self.timelines.get(account, [])[::-1]

    def page(self, account: int, max_id: int | None, limit: int, above: int | None, oldest: bool) -> list[int]:
        """Up to `limit` ids in (`above`, `max_id`), newest first; with `oldest`, the ones just above `above`."""
        timeline = self.timelines.get(account, [])
        end = len(timeline) if max_id is None else bisect.bisect_left(timeline, max_id)
        start = 0 if above is None else bisect.bisect_right(timeline, above)
        window = timeline[start:end]
        chosen = window[:limit] if oldest else window[-limit:]
        return chosen[::-1]
