"""The RocksDB store: one rocksdict database per task, one column family per column, raw byte keys.

Durability: every write goes through the write-ahead log; `write(batch, sync=True)` also fsyncs it before
returning. A batch spans column families atomically, which is what lets a topology commit PState writes and
consumed offsets together.

rocksdict keeps a database open while any object derived from it is alive (a column family's Rdict, an
iterator), and only then releases the directory lock. So `close()` swaps every handed-out column's Rdict for
a stub that raises `StoreClosedError`: a stale handle can neither keep the database locked nor read it.
Range iterators must still be dropped (or exhausted) before the same path can be reopened.

A watched column (`watch_column`, `pstates.page_cache`) carries its watch on its handle: a batch notes the
keys it writes there, `write` invalidates them once RocksDB applied the batch, and `close` drops them all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress, islice, repeat, takewhile
from typing import NoReturn, TypeAlias, cast

from rocksdict import BlockBasedOptions, Checkpoint, ColumnFamily, Options, Rdict, ReadOptions, WriteOptions
from rocksdict import WriteBatch as RawWriteBatch

from pstates.errors import StoreClosedError
from pstates.page_cache import ColumnWatch, PageCache, TouchedColumns
from pstates.store import ColumnHandle, KVStore, WriteBatch

DEFAULT_COLUMN_FAMILY = "default"
BLOOM_BITS_PER_KEY = 10  # ~1% false positives

PairIterator: TypeAlias = Iterator[tuple[bytes, bytes]]


class RocksColumn:
    """A column handle of a `RocksDBStore`: the family's Rdict (reads) and its handle (batch writes)."""

    __slots__ = ("handle", "name", "rdict", "watch")

    def __init__(self, name: str, rdict: Rdict | _ClosedRdict, handle: ColumnFamily | None) -> None:
        self.name = name
        self.rdict = rdict
        self.handle = handle
        self.watch: ColumnWatch | None = None

    def __repr__(self) -> str:
        return f"RocksColumn({self.name!r})"


class _ClosedRdict:
    """Stands in for a column family's Rdict once its store is closed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __getattr__(self, name: str) -> NoReturn:
        raise StoreClosedError(f"RocksDB store {self.path!r} is closed")


class RocksWriteBatch(WriteBatch):
    """A rocksdict `WriteBatch` in raw mode, addressed by column handles."""

    __slots__ = ("raw", "touched")

    def __init__(self) -> None:
        self.raw = RawWriteBatch(raw_mode=True)
        self.touched = TouchedColumns()  # writes to watched columns, invalidated by `RocksDBStore.write`

    def put(self, column: ColumnHandle, key: bytes, value: bytes) -> None:
        """Set `key` to `value` in `column` when the batch is written."""
        self.raw.put(key, value, _family(column))
        watch = cast(RocksColumn, column).watch
        if watch is not None:
            self.touched.key(watch, key)

    def put_many(self, column: ColumnHandle, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Set every `(key, value)` of `pairs` in `column`, resolving the column family once."""
        put, family = self.raw.put, _family(column)
        watch = cast(RocksColumn, column).watch
        if watch is not None:
            pairs = list(pairs)
            self.touched.many(watch, [key for key, _ in pairs])
        for key, value in pairs:
            put(key, value, family)

    def delete(self, column: ColumnHandle, key: bytes) -> None:
        """Remove `key` from `column` when the batch is written (no error if absent)."""
        self.raw.delete(key, _family(column))
        watch = cast(RocksColumn, column).watch
        if watch is not None:
            self.touched.key(watch, key)

    def delete_range(self, column: ColumnHandle, start: bytes, end: bytes) -> None:
        """Remove every key `start <= key < end` from `column` when the batch is written."""
        if start < end:  # RocksDB rejects an inverted range at write time; an empty one is a no-op
            self.raw.delete_range(start, end, _family(column))
            watch = cast(RocksColumn, column).watch
            if watch is not None:
                self.touched.range(watch, start, end)

    def __len__(self) -> int:
        return len(self.raw)


class RocksDBStore(KVStore):
    """A `KVStore` on one RocksDB database (rocksdict, raw mode) at `path`."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(path, exist_ok=True)
        existing = Rdict.list_cf(path) if os.path.exists(os.path.join(path, "CURRENT")) else []
        families = {name: _raw_options() for name in existing if name != DEFAULT_COLUMN_FAMILY}
        self._db: Rdict | None = Rdict(path, _db_options(), column_families=families or None)
        self._columns: dict[str, RocksColumn] = {}
        self._opening = threading.Lock()
        self._names = set(families)
        self._sync_write = WriteOptions()
        self._sync_write.sync = True
        self._async_write = WriteOptions()

    @classmethod
    def open(cls, path: str) -> RocksDBStore:
        """Open (creating if needed) the database at `path` with every column family it has."""
        return cls(path)

    def column(self, name: str) -> ColumnHandle:
        """Return the handle of column `name`, creating the column family if it does not exist yet."""
        column = self._columns.get(name)
        if column is None:
            with self._opening:  # a worker's read threads may open the same column at once
                column = self._columns.get(name)
                if column is None:
                    column = self._columns[name] = self._open_column(name)
        return ColumnHandle(column)

    def column_names(self) -> list[str]:
        """Names of every column that exists, in sorted order (RocksDB's own default family is hidden)."""
        self._live_db()
        return sorted(self._names)

    def get(self, column: ColumnHandle, key: bytes) -> bytes | None:
        """Committed value of `key`, or None."""
        value: bytes | None = cast(RocksColumn, column).rdict.get(key)
        return value

    def multi_get(self, column: ColumnHandle, keys: Sequence[bytes]) -> list[bytes | None]:
        """Committed values of `keys`, in order, None where absent."""
        if not keys:
            return []
        return cast(list[bytes | None], cast(RocksColumn, column).rdict.get(list(keys)))

    def range(
        self,
        column: ColumnHandle,
        start: bytes | None = None,
        end: bytes | None = None,
        *,
        reverse: bool = False,
        limit: int | None = None,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Committed pairs with `start <= key < end` (None: unbounded), in key order or reversed."""
        rdict = cast(RocksColumn, column).rdict
        if start is not None and end is not None and start >= end:
            return iter(())
        bounds = None
        if end is not None:  # checked inside RocksDB: measured faster than a Python comparison per row
            bounds = ReadOptions()
            bounds.set_iterate_upper_bound(end)
        from_key = None if reverse else start
        items = cast(PairIterator, rdict.items(backwards=reverse, from_key=from_key, read_opt=bounds))
        if bounds is not None:
            # rocksdict 0.3.29 does not keep the bound alive for the iterator, which reads it at every step
            # (a use-after-free once `end` or the ReadOptions is collected). `compress` over a repeat of
            # both pins them for the iterator's life and passes every pair through, all in C.
            items = compress(items, repeat((bounds, end)))
        if reverse and start is not None:
            # Not set_iterate_lower_bound: rocksdict 0.3.29 applies it as an upper bound. A pair is
            # >= (start,) exactly when its key is >= start.
            items = takewhile((start,).__le__, items)
        return items if limit is None else islice(items, limit)

    def new_batch(self) -> WriteBatch:
        """Return an empty batch for this store."""
        return RocksWriteBatch()

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Apply `batch` atomically; `sync=True` returns only once the write-ahead log is on disk."""
        if not isinstance(batch, RocksWriteBatch):
            raise TypeError(f"RocksDBStore cannot write a {type(batch).__name__}")
        try:
            self._live_db().write(batch.raw, self._sync_write if sync else self._async_write)
        finally:  # after the write: a fill that read before it is refused by the watch's generation
            batch.touched.invalidate()

    def watch_column(self, name: str, cache: PageCache) -> ColumnWatch:
        """Cache committed reads of column `name` in `cache`; every write to the column invalidates it."""
        column = cast(RocksColumn, self.column(name))
        if column.watch is None or column.watch.cache is not cache:
            if column.watch is not None:
                column.watch.close()
            column.watch = cache.watch(name)
        return column.watch

    def checkpoint(self, path: str) -> None:
        """Write a consistent copy of the committed state to the new directory `path` (hard links where possible)."""
        Checkpoint(self._live_db()).create_checkpoint(path)  # the Checkpoint dies here: it must not pin the db

    def close(self) -> None:
        """Release the database and its directory lock; committed writes stay durable. Idempotent."""
        if self._db is None:
            return
        closed = _ClosedRdict(self.path)
        for column in self._columns.values():
            column.rdict = closed
            column.handle = None
            if column.watch is not None:
                column.watch.close()
        self._columns.clear()
        db, self._db = self._db, None
        db.close()

    def _open_column(self, name: str) -> RocksColumn:
        db = self._live_db()
        if name == DEFAULT_COLUMN_FAMILY:
            raise ValueError(f"column name {name!r} is reserved by RocksDB")
        if name in self._names:
            rdict = db.get_column_family(name)
        else:
            rdict = db.create_column_family(name, _raw_options())
            self._names.add(name)
        return RocksColumn(name, rdict, db.get_column_family_handle(name))

    def _live_db(self) -> Rdict:
        if self._db is None:
            raise StoreClosedError(f"RocksDB store {self.path!r} is closed")
        return self._db


def _raw_options() -> Options:
    """Options of every column family: raw keys, and a bloom filter per table file.

    Without a filter, a read of an absent key searches every level's table file that could hold it; the
    writes that check existence first (a graph load: three absent pairs per follow) paid ~9 µs per key
    once the data had left the memtable, ~1.3 µs with 10 bits per key (measured with rocksdict alone).
    """
    options = Options(raw_mode=True)
    table = BlockBasedOptions()
    table.set_bloom_filter(BLOOM_BITS_PER_KEY, False)
    options.set_block_based_table_factory(table)
    return options


def _db_options() -> Options:
    options = _raw_options()
    options.create_if_missing(True)
    options.create_missing_column_families(True)
    return options


def _family(column: ColumnHandle) -> ColumnFamily:
    handle = cast(RocksColumn, column).handle
    if handle is None:
        raise StoreClosedError(f"column {cast(RocksColumn, column).name!r} belongs to a closed RocksDB store")
    return handle
