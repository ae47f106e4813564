"""RowIndex (numpy hash table, account id -> row) against a dict, across its growth and colliding ids."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from modules.core.row_index import MISSING, RowIndex

ids = st.integers(-(2**63) + 1, 2**63 - 1) | st.integers(-3, 3_000)  # any id, and close ones sharing slots


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(ids, max_size=400, unique=True), max_size=6), st.lists(ids, max_size=200))
def test_lookups_match_a_dict(batches: list[list[int]], queries: list[int]) -> None:
    index, reference = RowIndex(), {}
    for batch in batches:
        new = [i for i in batch if i not in reference]
        rows = np.arange(len(reference), len(reference) + len(new), dtype=np.int64)
        index.add(np.array(new, dtype=np.int64), rows)
        reference.update(zip(new, rows.tolist(), strict=True))
        asked = [*reference, *queries]
        got = index.lookup(np.array(asked, dtype=np.int64)).tolist()
        assert got == [reference.get(i, MISSING) for i in asked]


def test_many_accounts_grow_the_table_and_stay_found() -> None:
    index = RowIndex()
    accounts = np.random.default_rng(3).choice(2**60, 20_000, replace=False).astype(np.int64)
    for start in range(0, accounts.size, 1_500):
        batch = accounts[start : start + 1_500]
        index.add(batch, np.arange(start, start + batch.size, dtype=np.int64))
    assert index.lookup(accounts).tolist() == list(range(accounts.size))
    assert (index.lookup(accounts + 1) == MISSING).sum() >= accounts.size - 2  # neighbours are not accounts
