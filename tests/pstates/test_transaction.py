"""Transactions: buffered writes, read-your-writes through the overlay, one atomic commit."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pstates.errors import TransactionClosedError
from pstates.memory_store import MemoryStore
from pstates.store import ColumnHandle, KVStore
from pstates.transaction import Transaction

COMMITTED = {bytes([i]): b"old" + bytes([i]) for i in range(0, 20, 2)}


def committed(store: KVStore) -> ColumnHandle:
    column = store.column("c")
    batch = store.new_batch()
    for key, value in COMMITTED.items():
        batch.put(column, key, value)
    store.write(batch)
    return column


def scan(reader: KVStore | Transaction, column: ColumnHandle, **kwargs: object) -> list[tuple[bytes, bytes]]:
    return list(reader.range(column, **kwargs))  # type: ignore[arg-type]


def test_reads_see_the_transactions_own_writes_and_the_store_does_not(store: KVStore) -> None:
    column = committed(store)
    txn = Transaction(store)
    txn.put(column, b"\x01", b"new")
    txn.put(column, b"\x02", b"changed")
    txn.delete(column, b"\x04")
    assert txn.get(column, b"\x01") == b"new"
    assert txn.get(column, b"\x02") == b"changed"
    assert txn.get(column, b"\x04") is None
    assert txn.get(column, b"\x06") == b"old\x06"
    assert txn.multi_get(column, [b"\x01", b"\x04", b"\x06", b"\x07"]) == [b"new", None, b"old\x06", None]
    assert store.get(column, b"\x01") is None
    assert store.get(column, b"\x04") == b"old\x04"


def test_delete_range_hides_committed_keys_until_rewritten(store: KVStore) -> None:
    column = committed(store)
    txn = Transaction(store)
    txn.put(column, b"\x05", b"buffered")
    txn.delete_range(column, b"\x04", b"\x0a")
    txn.put(column, b"\x06", b"after the range delete")
    assert [txn.get(column, bytes([i])) for i in (2, 4, 5, 6, 8, 10)] == [
        b"old\x02",
        None,
        None,
        b"after the range delete",
        None,
        b"old\x0a",
    ]
    assert [key[0] for key, _ in scan(txn, column)] == [0, 2, 6, 10, 12, 14, 16, 18]
    assert [key[0] for key, _ in scan(txn, column, reverse=True, limit=4)] == [18, 16, 14, 12]


def test_merged_ranges_in_both_directions_with_limits(store: KVStore) -> None:
    column = committed(store)
    txn = Transaction(store)
    txn.put(column, b"\x03", b"new3")
    txn.put(column, b"\x04", b"new4")
    txn.delete(column, b"\x06")
    txn.delete_range(column, b"\x0b", b"\x0f")
    expected = [(0, b"old"), (2, b"old"), (3, b"new3"), (4, b"new4"), (8, b"old"), (10, b"old")]
    expected += [(16, b"old"), (18, b"old")]
    pairs = [(key[0], value.rstrip(key)) for key, value in scan(txn, column)]
    assert pairs == expected
    for limit, reverse in itertools.product([0, 1, 3, 100], [False, True]):
        ordered = expected[::-1] if reverse else expected
        got = [(key[0], value.rstrip(key)) for key, value in scan(txn, column, reverse=reverse, limit=limit)]
        assert got == ordered[:limit]
    bounded = scan(txn, column, start=b"\x03", end=b"\x0a", reverse=True)
    assert [key[0] for key, _ in bounded] == [8, 4, 3]


def test_commit_writes_everything_at_once(store: KVStore) -> None:
    column, other = committed(store), store.column("other")
    txn = Transaction(store)
    txn.delete_range(column, b"\x00", b"\x08")
    txn.put(column, b"\x02", b"kept")
    txn.put(other, b"k", b"v")
    assert len(txn) == 3
    txn.commit(sync=True)
    assert [key[0] for key, _ in scan(store, column)] == [2, 8, 10, 12, 14, 16, 18]
    assert store.get(column, b"\x02") == b"kept"
    assert store.get(other, b"k") == b"v"


def test_operations_list_what_commit_would_write(store: KVStore) -> None:
    column = committed(store)
    txn = Transaction(store)
    txn.put(column, b"\x03", b"a")
    txn.delete_range(column, b"\x00", b"\x05")
    txn.put(column, b"\x04", b"b")
    txn.delete(column, b"\x08")
    txn.put(column, b"\x08", b"c")
    txn.delete(column, b"\x0a")
    assert txn.operations() == [
        (column, "delete_range", b"\x00", b"\x05"),
        (column, "put", b"\x04", b"b"),
        (column, "put", b"\x08", b"c"),
        (column, "delete", b"\x0a", None),
    ]


def test_abort_discards_everything(store: KVStore) -> None:
    column = committed(store)
    txn = Transaction(store)
    txn.delete_range(column, b"\x00", b"\xff")
    txn.put(column, b"\x01", b"x")
    txn.abort()
    assert scan(store, column) == sorted(COMMITTED.items())


def test_a_finished_transaction_cannot_be_used(store: KVStore) -> None:
    column = store.column("c")
    for finish in (Transaction.commit, Transaction.abort):
        txn = Transaction(store)
        finish(txn)
        assert txn.finished
        for use in uses_of(txn, column):
            with pytest.raises(TransactionClosedError):
                use()


def uses_of(txn: Transaction, column: ColumnHandle) -> list[Callable[[], object]]:
    return [
        lambda: txn.get(column, b"k"),
        lambda: txn.multi_get(column, [b"k"]),
        lambda: txn.range(column),
        lambda: txn.put(column, b"k", b"v"),
        lambda: txn.delete(column, b"k"),
        lambda: txn.delete_range(column, b"a", b"b"),
        lambda: txn.column("c"),
        txn.operations,
        txn.commit,
        txn.abort,
    ]


def test_length_and_emptiness(store: KVStore) -> None:
    column = store.column("c")
    txn = Transaction(store)
    assert txn.is_empty and len(txn) == 0
    txn.put(column, b"k", b"1")
    txn.put(column, b"k", b"2")
    assert not txn.is_empty and len(txn) == 2
    txn.commit()  # rewriting a key twice still commits its newest value only
    assert store.get(column, b"k") == b"2"


def test_an_empty_commit_writes_nothing(store: KVStore) -> None:
    Transaction(store).commit()
    assert store.column_names() == []


def test_untouched_columns_read_straight_from_the_store(store: KVStore) -> None:
    column = committed(store)
    txn = Transaction(store)
    txn.put(store.column("elsewhere"), b"k", b"v")
    assert scan(txn, column, start=b"\x02", limit=2) == scan(store, column, start=b"\x02", limit=2)
    assert txn.multi_get(column, [b"\x02", b"\x03"]) == [b"old\x02", None]
    assert txn.store is store


# --- a property: any sequence of writes reads like a dict with those writes applied -----------------------

small_keys = st.binary(min_size=1, max_size=2).map(lambda b: bytes(x % 6 for x in b))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), small_keys, st.binary(max_size=2)),
        st.tuples(st.just("delete"), small_keys, st.just(b"")),
        st.tuples(st.just("delete_range"), small_keys, small_keys).map(lambda t: (t[0], *sorted(t[1:]))),
    ),
    max_size=25,
)
bound = st.none() | small_keys


@settings(deadline=None)  # opens a store per example: no per-example deadline on a busy machine
@given(operations, operations, bound, bound, st.booleans(), st.none() | st.integers(0, 8))
def test_reads_match_a_model_after_any_writes(
    before: list[tuple[str, bytes, bytes]],
    during: list[tuple[str, bytes, bytes]],
    start: bytes | None,
    end: bytes | None,
    reverse: bool,
    limit: int | None,
) -> None:
    store = MemoryStore.open("transaction-property")
    try:
        column = store.column("c")
        model: dict[bytes, bytes] = {}
        setup = Transaction(store)
        for op in before:
            apply(setup, column, model, *op)
        setup.commit()
        txn = Transaction(store)
        for op in during:
            apply(txn, column, model, *op)
        expected = sorted(
            (kv for kv in model.items() if (start is None or kv[0] >= start) and (end is None or kv[0] < end)),
            reverse=reverse,
        )
        assert scan(txn, column, start=start, end=end, reverse=reverse, limit=limit) == expected[:limit]
        probes = sorted({key for _, key, _ in during})
        assert txn.multi_get(column, probes) == [model.get(key) for key in probes]
        txn.commit()
        assert scan(store, column) == sorted(model.items())
    finally:
        store.close()
        MemoryStore.forget("transaction-property")


def apply(txn: Transaction, column: ColumnHandle, model: dict[bytes, bytes], op: str, a: bytes, b: bytes) -> None:
    if op == "put":
        txn.put(column, a, b)
        model[a] = b
    elif op == "delete":
        txn.delete(column, a)
        model.pop(a, None)
    else:
        txn.delete_range(column, a, b)
        for key in [key for key in model if a <= key < b]:
            del model[key]
