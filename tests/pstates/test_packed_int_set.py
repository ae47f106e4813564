"""PackedIntSet: a chunked sorted int64 set read as numpy arrays, checked against a Python set model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pstates.errors import PStateWriteError, SchemaError
from pstates.pstate import PackedIntSetPState, bind
from pstates.schema import PackedIntSet, PStateSpec
from pstates.store import KVStore
from pstates.transaction import Transaction

SMALL_CHUNKS = PStateSpec("$$followers", PackedIntSet((int, int), chunk=4))
LIMITS = (-(1 << 63), (1 << 63) - 1)


def view(reader: KVStore | Transaction, writer: Transaction | None = None) -> PackedIntSetPState:
    bound = bind(SMALL_CHUNKS, reader, writer)
    assert isinstance(bound, PackedIntSetPState)
    return bound


def test_add_remove_contains_and_members_across_chunk_splits(store: KVStore) -> None:
    txn = Transaction(store)
    followers = view(txn, txn)
    assert [followers.add((7, 0), m) for m in (5, 1, 9, 3, 7, 2, 8, 5)] == [True] * 7 + [False]
    assert followers.add((7, 0), LIMITS[0]) and followers.add((7, 0), LIMITS[1])
    assert followers.size((7, 0)) == 9
    assert followers.members((7, 0)).tolist() == [LIMITS[0], 1, 2, 3, 5, 7, 8, 9, LIMITS[1]]
    assert followers.members((7, 0), after=3, limit=3).tolist() == [5, 7, 8]
    assert followers.members((7, 0), after=LIMITS[1]).tolist() == []
    assert followers.members((7, 1)).dtype == np.int64 and followers.members((7, 1)).size == 0
    txn.commit()
    committed = view(store)
    assert committed.contains((7, 0), 8) and not committed.contains((7, 0), 4)
    assert not committed.contains((7, 0), 1 << 70)
    assert committed.members((7, 0), limit=4).tolist() == [LIMITS[0], 1, 2, 3]


def test_removing_every_member_leaves_no_key_behind(store: KVStore) -> None:
    txn = Transaction(store)
    followers = view(txn, txn)
    for member in range(10):
        followers.add((1, 1), member)
    assert [followers.remove((1, 1), m) for m in (0, 0, 11, 1 << 70)] == [True, False, False, False]
    for member in range(1, 10):
        assert followers.remove((1, 1), member)
    txn.commit()
    column = store.column("$$followers")
    assert list(store.range(column, b"", b"\xff" * 16)) == []
    assert view(store).size((1, 1)) == 0


def test_bad_members_and_read_only_writes_are_refused(store: KVStore) -> None:
    txn = Transaction(store)
    with pytest.raises(SchemaError, match="signed 64-bit int"):
        view(txn, txn).add((1, 1), 1 << 63)
    with pytest.raises(SchemaError, match="signed 64-bit int"):
        view(txn, txn).add((1, 1), True)
    with pytest.raises(PStateWriteError):
        view(store).add((1, 1), 1)
    with pytest.raises(SchemaError, match="at least 2"):
        PackedIntSet(int, chunk=1)


operations = st.lists(st.tuples(st.booleans(), st.integers(-40, 40)), max_size=80)


# The store is shared by the examples: each one empties its key again at the end.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, after=st.none() | st.integers(-45, 45), limit=st.none() | st.integers(0, 12))
def test_matches_a_set_model(store: KVStore, ops: list[tuple[bool, int]], after: int | None, limit: int | None) -> None:
    model: set[int] = set()
    txn = Transaction(store)
    followers = view(txn, txn)
    key = (3, 4)
    for add, member in ops:
        changed = followers.add(key, member) if add else followers.remove(key, member)
        assert changed == ((member not in model) if add else (member in model))
        (model.add if add else model.discard)(member)
    expected = sorted(m for m in model if after is None or m > after)[:limit]

    def check(reader: PackedIntSetPState) -> None:
        assert reader.size(key) == len(model)
        assert reader.members(key, after=after, limit=limit).tolist() == expected
        assert all(reader.contains(key, m) == (m in model) for m in range(-41, 42))

    check(followers)  # the transaction's own writes
    txn.commit()
    check(view(store))  # committed
    view_txn = Transaction(store)
    cleaner = view(view_txn, view_txn)
    for member in list(model):
        cleaner.remove(key, member)
    view_txn.commit()
