"""Bulk reads and writes of subindexed collections: the same facts as their one-at-a-time twins."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from pstates.errors import SchemaError
from pstates.pstate import SortedMapPState, SortedSetPState, bind
from pstates.schema import Map, PStateSpec, SortedMap, SortedSet
from pstates.store import KVStore
from pstates.transaction import Transaction

SCORES = PStateSpec("$$scores", Map(int, SortedMap(int, str)))
MEMBERS = PStateSpec("$$members", Map(int, SortedSet(int)))


def scores(txn: Transaction) -> SortedMapPState:
    view = bind(SCORES, txn, txn)
    assert isinstance(view, SortedMapPState)
    return view


def test_put_many_counts_each_new_element_once_per_key(store: KVStore) -> None:
    txn = Transaction(store)
    view = scores(txn)
    view.put(1, 10, "old")
    view.put_many([(1, 10, "updated"), (1, 11, "a"), (2, 20, "b"), (1, 11, "again"), (3, 30, "c")])
    assert [view.size(k) for k in (1, 2, 3, 4)] == [2, 1, 1, 0]
    assert view.sizes([1, 2, 3, 4]) == [2, 1, 1, 0]
    assert view.range(1) == [(10, "updated"), (11, "again")]
    txn.commit()
    committed = bind(SCORES, store)
    assert committed.get_many([(1, 10), (2, 20), (2, 21), (3, 30)], default="-") == ["updated", "b", "-", "c"]
    assert committed.contains_many([(1, 11), (1, 12), (3, 30)]) == [True, False, True]


def test_put_many_matches_a_loop_of_puts(store: KVStore) -> None:
    rows = [(k % 7, k * 3 % 11, str(k)) for k in range(200)]
    bulk, loop = Transaction(store), Transaction(store)
    scores(bulk).put_many(rows)
    one_by_one = scores(loop)
    for key, sub, value in rows:
        one_by_one.put(key, sub, value)

    def writes(txn: Transaction) -> list[tuple[bytes, bytes | None]]:
        return sorted((key, value) for _, _, key, value in txn.operations())

    assert writes(bulk) == writes(loop)


def test_put_many_refuses_a_bad_row_and_writes_nothing(store: KVStore) -> None:
    txn = Transaction(store)
    view = scores(txn)
    with pytest.raises(SchemaError):
        view.put_many([(1, 10, "fine"), (1, "eleven", "not an int sub")])
    assert txn.is_empty
    assert view.size(1) == 0


def test_sorted_set_bulk_reads_see_the_transaction(store: KVStore) -> None:
    txn = Transaction(store)
    view = bind(MEMBERS, txn, txn)
    assert isinstance(view, SortedSetPState)
    view.add(5, 50)
    view.add(5, 51)
    view.add(6, 60)
    assert view.contains_many([(5, 50), (5, 52), (6, 60), (7, 70)]) == [True, False, True, False]
    assert view.sizes([5, 6, 7]) == [2, 1, 0]


def test_int_range_raw_reads_int_subs_as_an_array(store: KVStore) -> None:
    spec = PStateSpec("$$options", Map((int, int), SortedMap(int, dict)))
    txn = Transaction(store)
    view = bind(spec, txn, txn)
    assert isinstance(view, SortedMapPState)
    subs = [-(2**63), -5, 0, 7, 2**40, 2**63 - 1]
    for sub in subs:
        view.put((1, 2), sub, {"languages": None} if sub != 7 else {"languages": ["en"]})
    view.put((1, 3), 99, {})
    ids, raws = view.int_range_raw((1, 2))
    assert ids.tolist() == subs and ids.dtype == np.int64
    assert [msgpack.unpackb(raw) for raw in raws] == [value for _, value in view.range((1, 2))]
    after, _ = view.int_range_raw((1, 2), start=1, limit=2)
    assert after.tolist() == [7, 2**40]
    empty, none = view.int_range_raw((9, 9))
    assert empty.size == 0 and none == []
