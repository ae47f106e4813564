"""A step's home deliveries grouped by owning task: one payload per task, every pair kept, ids in order."""

from __future__ import annotations

import numpy as np
import pytest

from modules.core.home_outbox import batches, unpack
from pstates.keycodec import partition_of


@pytest.mark.parametrize("tasks", [1, 2, 4, 8])
def test_batches_send_each_pair_to_the_task_owning_its_account(tasks: int) -> None:
    statuses = [501, 502, 503]
    recipients = [
        np.array([3, 1, 2**62, -7], dtype=np.int64),
        np.array([99, 1_000_001, 42, 3], dtype=np.int64),
        np.array([5], dtype=np.int64),
    ]
    sent = batches(statuses, recipients, tasks)
    assert [task for task, _ in sent] == sorted({task for task, _ in sent})  # one payload per task, in order
    pairs: list[tuple[int, int]] = []
    for task, payload in sent:
        sids, accounts = unpack(payload)
        assert all(partition_of(a, tasks) == task for a in accounts.tolist())
        assert all(size > 0 for size in payload["sizes"])
        assert payload["statuses"] == sorted(payload["statuses"])  # a status' accounts stay together, in order
        pairs += zip(sids.tolist(), accounts.tolist(), strict=True)
    expected = [(s, a) for s, r in zip(statuses, recipients, strict=True) for a in r.tolist()]
    assert sorted(pairs) == sorted(expected)
