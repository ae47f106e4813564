"""The in-memory model store: the reference every other backend is checked against.

Columns are `SortedDict`s held in a process-wide registry by store name, so closing a store and opening the
same name again sees every committed write, as a durable store would after a clean restart. Whatever was
never written (an open transaction) is gone, as after a crash. `sync` has nothing to wait for here.

Range reads copy the matching pairs first: that gives the snapshot semantics of a RocksDB iterator, so a
caller may write while it still holds one.

A watched column (`watch_column`, `pstates.page_cache`) has one watch per column data, whichever instance
of the store watched it or writes it, so every write to the data invalidates the one cache of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import cast

from sortedcontainers import SortedDict

from pstates.errors import StoreClosedError
from pstates.page_cache import ColumnWatch, PageCache, TouchedColumns
from pstates.store import ColumnHandle, KVStore, WriteBatch

# name -> column name -> column data; what survives `close()` and is seen again by `open()`.
_REGISTRY: dict[str, dict[str, SortedDict]] = {}
# id of a column's data -> its page cache watch (the data outlives store instances; `forget` drops both).
_WATCHES: dict[int, ColumnWatch] = {}

_PUT, _DELETE, _DELETE_RANGE = 0, 1, 2
RESERVED_COLUMN = "default"


class MemoryColumn:
    """A column handle of a `MemoryStore`."""

    __slots__ = ("data", "name")

    def __init__(self, name: str, data: SortedDict) -> None:
        self.name = name
        self.data = data

    @property
    def watch(self) -> ColumnWatch | None:
        """The page cache watch of this column's data, if it is watched."""
        return _WATCHES.get(id(self.data))

    def __repr__(self) -> str:
        return f"MemoryColumn({self.name!r})"


class MemoryWriteBatch(WriteBatch):
    """Operations recorded in order, applied in order by `MemoryStore.write`."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: list[tuple[int, SortedDict, bytes, bytes]] = []

    def put(self, column: ColumnHandle, key: bytes, value: bytes) -> None:
        """Set `key` to `value` in `column` when the batch is written."""
        self.ops.append((_PUT, _data(column), bytes(key), bytes(value)))

    def delete(self, column: ColumnHandle, key: bytes) -> None:
        """Remove `key` from `column` when the batch is written (no error if absent)."""
        self.ops.append((_DELETE, _data(column), bytes(key), b""))

    def delete_range(self, column: ColumnHandle, start: bytes, end: bytes) -> None:
        """Remove every key `start <= key < end` from `column` when the batch is written."""
        if start < end:  # as RocksDB: an inverted or empty range is no operation at all
            self.ops.append((_DELETE_RANGE, _data(column), bytes(start), bytes(end)))

    def __len__(self) -> int:
        return len(self.ops)


class MemoryStore(KVStore):
    """A `KVStore` over process-wide sorted dicts; the model of the RocksDB store."""

    def __init__(self, name: str, columns: dict[str, SortedDict]) -> None:
        self.name = name
        self._columns = columns
        self._handles: dict[str, MemoryColumn] = {}
        self._closed = False

    @classmethod
    def open(cls, name: str) -> MemoryStore:
        """Open the store called `name`, with every write committed to it before."""
        return cls(name, _REGISTRY.setdefault(name, {}))

    @staticmethod
    def forget(name: str) -> None:
        """Drop the committed data of store `name` (tests use it to start from nothing)."""
        for data in _REGISTRY.pop(name, {}).values():
            watch = _WATCHES.pop(id(data), None)
            if watch is not None:
                watch.close()

    def column(self, name: str) -> ColumnHandle:
        """Return the handle of column `name`, creating the column if it does not exist yet."""
        self._check_open()
        handle = self._handles.get(name)
        if handle is None:
            if name == RESERVED_COLUMN:
                raise ValueError(f"column name {name!r} is reserved by the RocksDB backend")
            data = self._columns.setdefault(name, SortedDict())
            handle = self._handles[name] = MemoryColumn(name, data)
        return ColumnHandle(handle)

    def column_names(self) -> list[str]:
        """Names of every column that exists, in sorted order."""
        self._check_open()
        return sorted(self._columns)

    def get(self, column: ColumnHandle, key: bytes) -> bytes | None:
        """Committed value of `key`, or None."""
        self._check_open()
        value: bytes | None = _data(column).get(key)
        return value

    def multi_get(self, column: ColumnHandle, keys: Sequence[bytes]) -> list[bytes | None]:
        """Committed values of `keys`, in order, None where absent."""
        self._check_open()
        get = _data(column).get
        return [get(key) for key in keys]

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
        self._check_open()
        data = _data(column)
        keys = data.irange(start, end, inclusive=(True, False), reverse=reverse)
        if limit is not None:
            keys = islice(keys, limit)
        return iter([(key, data[key]) for key in keys])

    def watch_column(self, name: str, cache: PageCache) -> ColumnWatch:
        """Cache committed reads of column `name` in `cache`; every write to the column invalidates it."""
        data = _data(self.column(name))
        watch = _WATCHES.get(id(data))
        if watch is None or watch.cache is not cache or watch.closed:
            if watch is not None:
                watch.close()
            watch = _WATCHES[id(data)] = cache.watch(name)
        return watch

    def new_batch(self) -> WriteBatch:
        """Return an empty batch for this store."""
        return MemoryWriteBatch()

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Apply `batch` atomically: its operations cannot fail halfway, so applying them in order is."""
        self._check_open()
        if not isinstance(batch, MemoryWriteBatch):
            raise TypeError(f"MemoryStore cannot write a {type(batch).__name__}")
        touched = TouchedColumns()
        for op, data, key, arg in batch.ops:
            if op == _PUT:
                data[key] = arg
            elif op == _DELETE:
                data.pop(key, None)
            else:
                for doomed in list(data.irange(key, arg, inclusive=(True, False))):
                    del data[doomed]
            watch = _WATCHES.get(id(data)) if _WATCHES else None
            if watch is not None:
                if op == _DELETE_RANGE:
                    touched.range(watch, key, arg)
                else:
                    touched.key(watch, key)
        touched.invalidate()

    def close(self) -> None:
        """Release the store; committed writes stay in the registry. Idempotent."""
        self._closed = True
        for handle in self._handles.values():
            watch = handle.watch
            if watch is not None:  # the data stays, and so would its coherent cache: dropped all the same
                watch.clear()
        self._handles.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"memory store {self.name!r} is closed")


def _data(column: ColumnHandle) -> SortedDict:
    return cast(MemoryColumn, column).data
