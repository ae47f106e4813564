"""HomeTimelines (numpy rings) against a plain sorted-list model: appends, old ids, duplicates, the cap."""

from __future__ import annotations

import random

import pytest

from modules.core.timelines import HomeTimelines
from tests.modules.core.timeline_model import TimelineModel


@pytest.mark.parametrize("seed", range(24))
def test_rings_match_sorted_lists(seed: int) -> None:
    rng = random.Random(seed)
    cap = rng.choice([1, 3, 8, 25, 40, 100])
    accounts = list(range(1_000, 1_000 + rng.choice([3, 40, 200])))  # more than the 64 initial rows
    rings, model = HomeTimelines(cap), TimelineModel(cap)
    newest = 10_000
    for _ in range(60):
        batch: list[tuple[int, list[int]]] = []
        for _ in range(rng.randint(0, 12)):
            # mostly new ids, often a little older ones (another task's clock), sometimes much older ones or repeats
            newest += rng.randint(1, 5)
            roll = rng.random()
            status_id = (
                newest if roll < 0.6 else newest - rng.randint(0, 30) if roll < 0.85 else rng.randint(10_000, newest)
            )
            batch.append((status_id, rng.sample(accounts, rng.randint(0, len(accounts)))))
        if rng.random() < 0.2 and batch:
            batch.append(batch[0])  # the same delivery twice in one batch
        rings.deliver_many(batch)
        # a batch is applied oldest id first, each (id, account) once: the count of ids that go in and straight
        # out of a full timeline depends on that order (the timelines' contents do not)
        for status_id, account in sorted({(s, a) for s, recipients in batch for a in recipients}):
            model.deliver(status_id, [account])
        if rng.random() < 0.1:
            account = rng.choice(accounts)
            gone = [*model.peek(account)[: rng.randint(0, 3)], 1]
            rings.forget(account, gone)
            model.forget(account, gone)
        for account in accounts:
            assert rings.peek(account) == model.peek(account)
    assert rings.deliveries == model.deliveries


def test_a_run_longer_than_the_cap_keeps_the_newest() -> None:
    rings = HomeTimelines(cap=4)
    rings.deliver_many([(i, [7]) for i in range(10, 20)])
    assert rings.peek(7) == [19, 18, 17, 16]
    rings.deliver(12, [7])  # older than everything kept: in and straight out again, as a list would
    assert rings.peek(7) == [19, 18, 17, 16]
    rings.deliver(18, [7, 8])  # present for 7, new for 8
    assert rings.peek(7) == [19, 18, 17, 16]
    assert rings.peek(8) == [18]
    assert rings.deliveries == 12


@pytest.mark.parametrize("seed", range(8))
def test_short_timelines_take_older_ids_in_order(seed: int) -> None:
    """Timelines shorter than the insert window (new accounts, the first seconds) get out-of-order ids right."""
    rng = random.Random(seed)
    rings, model = HomeTimelines(600), TimelineModel(600)
    accounts = list(range(50))
    for _ in range(8):
        batch = [(rng.randint(1, 400), rng.sample(accounts, rng.randint(1, 50))) for _ in range(rng.randint(1, 6))]
        rings.deliver_many(batch)
        for status_id, account in sorted({(s, a) for s, recipients in batch for a in recipients}):
            model.deliver(status_id, [account])
        assert [rings.peek(a) for a in accounts] == [model.peek(a) for a in accounts]
    assert rings.deliveries == model.deliveries


@pytest.mark.parametrize("seed", range(6))
def test_a_burst_from_a_task_that_ran_behind_lands_in_order(seed: int) -> None:
    """Ids older than the last 16 of a long timeline (a task's burst that ran behind) go in at their place."""
    rng = random.Random(seed)
    rings, model = HomeTimelines(600), TimelineModel(600)
    accounts = list(range(30))
    newest = 100_000
    for _ in range(12):
        newest += 300
        batch = [(newest - rng.randint(0, 400), rng.sample(accounts, rng.randint(1, 30))) for _ in range(40)]
        rings.deliver_many(batch)
        for status_id, account in sorted({(s, a) for s, recipients in batch for a in recipients}):
            model.deliver(status_id, [account])
        assert [rings.peek(a) for a in accounts] == [model.peek(a) for a in accounts]
    assert rings.deliveries == model.deliveries
