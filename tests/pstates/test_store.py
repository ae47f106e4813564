"""KVStore behaviour, identical on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from pstates.errors import StoreClosedError
from pstates.memory_store import MemoryStore
from pstates.rocksdb_store import RocksDBStore
from pstates.store import ColumnHandle, KVStore, open_store
from tests.pstates.conftest import StoreOpener

KEYS = [bytes([i]) for i in range(0, 20, 2)]  # 00 02 04 ... 12


def fill(store: KVStore, name: str = "c") -> ColumnHandle:
    column = store.column(name)
    batch = store.new_batch()
    for key in KEYS:
        batch.put(column, key, b"v" + key)
    store.write(batch)
    return column


def keys_of(store: KVStore, column: ColumnHandle, *args: bytes | None, **kwargs: object) -> list[int]:
    return [key[0] for key, _ in store.range(column, *args, **kwargs)]  # type: ignore[arg-type]


def test_get_and_multi_get(store: KVStore) -> None:
    column = fill(store)
    assert store.get(column, b"\x04") == b"v\x04"
    assert store.get(column, b"\x05") is None
    assert store.multi_get(column, [b"\x02", b"\x03", b"\x02"]) == [b"v\x02", None, b"v\x02"]
    assert store.multi_get(column, []) == []


def test_an_empty_column_reads_nothing(store: KVStore) -> None:
    column = store.column("empty")
    assert store.get(column, b"a") is None
    assert list(store.range(column)) == []
    assert list(store.range(column, reverse=True)) == []


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, list(range(0, 20, 2))),
        (b"\x04", None, list(range(4, 20, 2))),
        (None, b"\x04", [0, 2]),
        (b"\x04", b"\x0a", [4, 6, 8]),
        (b"\x03", b"\x09", [4, 6, 8]),
        (b"\x04", b"\x04", []),
        (b"\x0a", b"\x04", []),
        (b"\x30", None, []),
        (None, b"\x00", []),
        (b"", b"\x01", [0]),
    ],
)
def test_range_is_start_inclusive_end_exclusive_both_ways(
    store: KVStore, start: bytes | None, end: bytes | None, expected: list[int]
) -> None:
    column = fill(store)
    assert keys_of(store, column, start, end) == expected
    assert keys_of(store, column, start, end, reverse=True) == expected[::-1]


@pytest.mark.parametrize("reverse", [False, True])
def test_range_limit(store: KVStore, reverse: bool) -> None:
    column = fill(store)
    everything = keys_of(store, column, b"\x04", b"\x10", reverse=reverse)
    assert keys_of(store, column, b"\x04", b"\x10", reverse=reverse, limit=2) == everything[:2]
    assert keys_of(store, column, b"\x04", b"\x10", reverse=reverse, limit=0) == []
    assert keys_of(store, column, b"\x04", b"\x10", reverse=reverse, limit=99) == everything


def test_range_returns_the_values(store: KVStore) -> None:
    column = fill(store)
    assert list(store.range(column, b"\x02", b"\x05")) == [(b"\x02", b"v\x02"), (b"\x04", b"v\x04")]


def test_range_is_a_snapshot(store: KVStore) -> None:
    column = fill(store)
    pairs = store.range(column)
    first = next(pairs)
    batch = store.new_batch()
    batch.put(column, b"\x03", b"new")
    store.write(batch)
    assert [first, *pairs] == [(key, b"v" + key) for key in KEYS]


def test_columns_are_created_on_first_use_and_are_separate(store: KVStore) -> None:
    assert store.column_names() == []
    a, b = store.column("$$a"), store.column("$$b")
    batch = store.new_batch()
    batch.put(a, b"k", b"in a")
    store.write(batch)
    assert store.get(b, b"k") is None
    assert store.get(a, b"k") == b"in a"
    assert store.column_names() == ["$$a", "$$b"]
    assert store.column("$$a") == a


def test_default_column_name_is_reserved(store: KVStore) -> None:
    with pytest.raises(ValueError, match="reserved"):
        store.column("default")


def test_write_applies_operations_in_order(store: KVStore) -> None:
    column = fill(store)
    batch = store.new_batch()
    batch.put(column, b"\x05", b"put then range-deleted")
    batch.delete_range(column, b"\x04", b"\x08")
    batch.put(column, b"\x06", b"range-deleted then put")
    batch.delete(column, b"\x0a")
    batch.delete(column, b"\x0b")  # absent: no error
    batch.delete_range(column, b"\x10", b"\x0e")  # inverted: not even an operation
    assert len(batch) == 5
    store.write(batch)
    assert keys_of(store, column) == [0, 2, 6, 8, 12, 14, 16, 18]
    assert store.get(column, b"\x06") == b"range-deleted then put"


def test_nothing_is_visible_before_write(store: KVStore) -> None:
    column = store.column("c")
    batch = store.new_batch()
    batch.put(column, b"k", b"v")
    assert store.get(column, b"k") is None
    store.write(batch)
    assert store.get(column, b"k") == b"v"


def test_one_batch_spans_columns(store: KVStore) -> None:
    a, b = store.column("a"), store.column("b")
    batch = store.new_batch()
    batch.put(a, b"k", b"1")
    batch.put(b, b"k", b"2")
    store.write(batch, sync=True)
    assert (store.get(a, b"k"), store.get(b, b"k")) == (b"1", b"2")


def test_reopen_sees_every_committed_write(open_store: StoreOpener) -> None:
    store = open_store()
    fill(store, "$$x")
    store.column("$$empty")
    batch = store.new_batch()
    batch.delete(store.column("$$x"), b"\x00")
    store.write(batch, sync=True)
    store.close()
    reopened = open_store()
    assert reopened.column_names() == ["$$empty", "$$x"]
    assert keys_of(reopened, reopened.column("$$x")) == list(range(2, 20, 2))


def test_close_is_idempotent_and_use_after_close_raises(store: KVStore) -> None:
    column = fill(store)
    batch = store.new_batch()
    store.close()
    store.close()
    for use in (
        lambda: store.get(column, b"\x00"),
        lambda: store.multi_get(column, [b"\x00"]),
        lambda: list(store.range(column)),
        lambda: store.column("c"),
        lambda: store.column_names(),
        lambda: store.write(batch),
    ):
        with pytest.raises(StoreClosedError):
            use()


def test_a_store_refuses_another_backends_batch(store: KVStore) -> None:
    other = MemoryStore.open("other") if isinstance(store, RocksDBStore) else None
    foreign = other.new_batch() if other else RocksDBStore.new_batch(store)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot write"):
        store.write(foreign)
    MemoryStore.forget("other")


def test_open_store_by_url(tmp_path: Path) -> None:
    memory = open_store("memory://url-test")
    rocks = open_store(f"rocksdb://{tmp_path / 'db'}")
    assert isinstance(memory, MemoryStore)
    assert isinstance(rocks, RocksDBStore)
    rocks.close()
    MemoryStore.forget("url-test")
    with pytest.raises(ValueError, match="unknown store URL"):
        open_store("redis://nope")


def test_a_closed_rocksdb_store_releases_its_lock_despite_stale_handles(tmp_path: Path) -> None:
    store = RocksDBStore.open(str(tmp_path))
    column = fill(store)
    store.close()
    again = RocksDBStore.open(str(tmp_path))  # would fail on the LOCK if `column` kept the db alive
    assert again.get(again.column("c"), b"\x02") == b"v\x02"
    with pytest.raises(StoreClosedError):
        store.get(column, b"\x02")
    again.close()


def test_memory_forget_drops_the_data() -> None:
    store = MemoryStore.open("forgettable")
    fill(store)
    store.close()
    MemoryStore.forget("forgettable")
    assert MemoryStore.open("forgettable").column_names() == []
    MemoryStore.forget("forgettable")


@pytest.mark.parametrize("reverse", [False, True])
def test_a_bounded_range_stays_bounded_after_its_bound_is_collected(store: KVStore, reverse: bool) -> None:
    # rocksdict does not keep an iterator's upper bound alive: the store must, or this reads freed memory.
    column = fill(store)
    batch = store.new_batch()
    batch.delete_range(column, b"\x00", b"\xff")  # range tombstones make RocksDB consult the bound again
    for key in (b"\x01\x01", b"\x01\x02", b"\x02\x01"):
        batch.put(column, key, b"")
    store.write(batch)
    pairs = store.range(column, b"\x01", b"\x01" + bytes([255]), reverse=reverse)  # `end` dies here
    reuse_freed_memory = [bytes([9, i % 256]) for i in range(1000)]
    assert [key for key, _ in pairs] == sorted([b"\x01\x01", b"\x01\x02"], reverse=reverse)
    assert reuse_freed_memory
