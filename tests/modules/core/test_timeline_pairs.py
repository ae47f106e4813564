"""`sorted_pairs`: distinct (row, id) pairs in order, packed into one key or not, and late ids in rings."""

from __future__ import annotations

import numpy as np
import pytest

from modules.core.ids import first_id_at
from modules.core.timelines import HomeTimelines, sorted_pairs


@pytest.mark.parametrize("span_ms", [0, 5, 60_000, 10**11])  # the last one does not fit a packed key
def test_sorted_pairs_are_the_distinct_pairs_in_order(span_ms: int) -> None:
    rng = np.random.default_rng(span_ms)
    base = first_id_at(1_700_000_000_000)
    row = rng.integers(0, 50_000, 3_000).astype(np.int64)
    sid = (base + (rng.integers(0, span_ms + 1, 3_000) << 20) + rng.integers(0, 4, 3_000)).astype(np.int64)
    row, sid = np.concatenate((row, row[:500])), np.concatenate((sid, sid[:500]))  # repeated pairs
    got_row, got_sid = sorted_pairs(row, sid)
    expected = sorted(set(zip(row.tolist(), sid.tolist(), strict=True)))
    assert list(zip(got_row.tolist(), got_sid.tolist(), strict=True)) == expected


def test_late_ids_of_real_size_are_inserted_in_order_once() -> None:
    rings = HomeTimelines(cap=50)
    base = first_id_at(1_700_000_000_000)
    accounts = np.arange(10, 20, dtype=np.int64)
    for step in range(30):  # newest ids, one a step for every account
        rings.deliver_pairs(np.full(10, base + (step << 20) + 256, dtype=np.int64), accounts)
    late = base + (25 << 20) + 3  # a status of task 3, in the ms of an id already delivered, arriving after it
    rings.deliver_pairs(np.array([late, late, base + (29 << 20) + 256], dtype=np.int64), np.array([12, 12, 12]))
    timeline = rings.peek(12)
    assert timeline == sorted(set(timeline), reverse=True)
    assert timeline.count(late) == 1 and len(timeline) == 31
    assert rings.peek(13) == [base + (s << 20) + 256 for s in range(29, -1, -1)]
