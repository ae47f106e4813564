"""HomeTimelines' vectorized rings against a plain sorted-list model, under random hypothesis-driven steps.

Steps: batches of deliveries (new ids, ids a little older than a timeline's newest, much older ids, repeats,
the same pair twice), raw `deliver_pairs` arrays, deletions (`forget`), the lazy rebuild on first read (a
set of stored ids merged with what fanout delivered) and `page` reads with every bound. After each step
every timeline reads as the model's, and the delivery counters agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from modules.core.ids import first_id_at
from modules.core.timelines import HomeTimelines
from tests.modules.core.timeline_model import TimelineModel

BASE = first_id_at(1_700_000_000_000)  # real-sized ids: a batch's pairs are packed into one sort key
ACCOUNTS = [10**12 + 7 * n for n in range(70)]  # more than the rings' 64 initial rows
accounts = st.sampled_from(ACCOUNTS)


class Rebuilding(HomeTimelines):
    """Rings whose rebuild merges the ids the test stored for an account (what `author_deliveries` gives)."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.stored: dict[int, list[int]] = {}

    def rebuild(self, ctx: Any, account: int) -> None:
        """Merge the stored ids of `account`, as the real rebuild merges its followees' recent statuses."""
        self.deliver_ids(account, self.stored.get(account, []))
        self._loaded.add(account)


class TimelineMachine(RuleBasedStateMachine):
    """The rings and the model driven by the same steps."""

    def __init__(self) -> None:
        super().__init__()
        self.rings = Rebuilding(1)
        self.model = TimelineModel(1)
        self.newest = BASE
        self.seen: list[int] = []

    @initialize(cap=st.sampled_from([1, 2, 5, 17, 40]))
    def start(self, cap: int) -> None:
        self.rings, self.model = Rebuilding(cap), TimelineModel(cap)

    def status_id(self, data: st.DataObject) -> int:
        """A new id mostly; else one a little older than the newest, any earlier one, or one seen before."""
        kind = data.draw(st.sampled_from(["new", "new", "near", "old", "seen"]))
        if kind == "seen" and self.seen:
            return data.draw(st.sampled_from(self.seen))
        if kind == "near":
            return self.newest - data.draw(st.integers(0, 40)) * 97
        if kind == "old":
            return data.draw(st.integers(BASE - 10**6, self.newest))
        self.newest += data.draw(st.integers(1, 3 << 20))
        return self.newest

    @rule(data=st.data(), statuses=st.integers(1, 8), twice=st.booleans())
    def deliver_many(self, data: st.DataObject, statuses: int, twice: bool) -> None:
        batch = []
        for _ in range(statuses):
            status_id = self.status_id(data)
            batch.append((status_id, data.draw(st.lists(accounts, max_size=12, unique=True))))
            self.seen.append(status_id)
        if twice:
            batch.append(batch[0])
        self.rings.deliver_many(batch)
        self.model.deliver_pairs({(s, a) for s, recipients in batch for a in recipients})

    @rule(data=st.data(), size=st.integers(0, 60))
    def deliver_pairs(self, data: st.DataObject, size: int) -> None:
        sids = [self.status_id(data) for _ in range(size)]
        recipients = [data.draw(accounts) for _ in range(size)]
        self.seen += sids
        self.rings.deliver_pairs(np.array(sids, dtype=np.int64), np.array(recipients, dtype=np.int64))
        self.model.deliver_pairs(set(zip(sids, recipients, strict=True)))

    @rule(account=accounts, data=st.data())
    def forget(self, account: int, data: st.DataObject) -> None:
        present = self.model.timelines.get(account, [])
        gone = data.draw(st.lists(st.sampled_from(present), max_size=3)) if present else []
        gone.append(data.draw(st.integers(BASE, self.newest)))  # perhaps not there
        self.rings.forget(account, gone)
        self.model.timelines[account] = [i for i in present if i not in set(gone)]

    @rule(account=accounts, data=st.data())
    def store_for_rebuild(self, account: int, data: st.DataObject) -> None:
        """What a rebuild of `account` would find in the followees' statuses (only before its first read)."""
        if account not in self.model.loaded and self.seen:
            self.rings.stored[account] = data.draw(st.lists(st.sampled_from(self.seen), max_size=30))

    @rule(
        account=accounts,
        data=st.data(),
        limit=st.integers(1, 45),
        oldest=st.booleans(),
    )
    def read_page(self, account: int, data: st.DataObject, limit: int, oldest: bool) -> None:
        bound = st.none() | st.sampled_from(self.seen) if self.seen else st.none()
        max_id, above = data.draw(bound), data.draw(bound)
        if account not in self.model.loaded:
            self.model.loaded.add(account)
            self.model.deliver_pairs({(s, account) for s in self.rings.stored.get(account, [])})
        got = self.rings.page(None, account, max_id, limit, above, oldest)  # type: ignore[arg-type]
        assert got == self.model.page(account, max_id, limit, above, oldest)

    @invariant()
    def timelines_match(self) -> None:
        for account in ACCOUNTS:
            assert self.rings.peek(account) == self.model.timelines.get(account, [])[::-1]
        assert self.rings.deliveries == self.model.deliveries


TimelineMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
test_rings_match_the_model = TimelineMachine.TestCase
