"""The byte-level store interface under every PState, with one implementation per backend.

A task owns one `KVStore`. Each PState is a *column* (a RocksDB column family in the RocksDB backend) of
ordered byte keys. Writes reach a store only through `write(batch)`, which is atomic: all of the batch or
none of it is visible, before and after a crash. That is what lets a topology commit its PState writes, its
consumed depot offsets and its batch id together.

Implementations: `pstates.memory_store.MemoryStore` (the model) and `pstates.rocksdb_store.RocksDBStore`.
Pick one with `open_store(url)`: `memory://NAME` or `rocksdb:///absolute/path`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NewType, Protocol

if TYPE_CHECKING:
    from pstates.page_cache import ColumnWatch, PageCache

# An opaque handle a store hands out for one of its columns; only that store may interpret it.
ColumnHandle = NewType("ColumnHandle", object)


class KVReader(Protocol):
    """The read half of `KVStore`: what a PState view reads through, a store or a `Transaction`."""

    def column(self, name: str) -> ColumnHandle:
        """Return the handle of column `name`, creating the column if it does not exist yet."""

    def get(self, column: ColumnHandle, key: bytes) -> bytes | None:
        """Value of `key`, or None."""

    def multi_get(self, column: ColumnHandle, keys: Sequence[bytes]) -> list[bytes | None]:
        """Values of `keys`, in order, None where absent."""

    def range(
        self,
        column: ColumnHandle,
        start: bytes | None = None,
        end: bytes | None = None,
        *,
        reverse: bool = False,
        limit: int | None = None,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with `start <= key < end` (None: unbounded), in key order or reversed."""


class WriteBatch(ABC):
    """Writes buffered for one atomic `KVStore.write`."""

    @abstractmethod
    def put(self, column: ColumnHandle, key: bytes, value: bytes) -> None:
        """Set `key` to `value` in `column` when the batch is written."""

    def put_many(self, column: ColumnHandle, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Set every `(key, value)` of `pairs` in `column` (stores override this with a faster loop)."""
        for key, value in pairs:
            self.put(column, key, value)

    @abstractmethod
    def delete(self, column: ColumnHandle, key: bytes) -> None:
        """Remove `key` from `column` when the batch is written (no error if absent)."""

    @abstractmethod
    def delete_range(self, column: ColumnHandle, start: bytes, end: bytes) -> None:
        """Remove every key `start <= key < end` from `column` when the batch is written."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of operations buffered."""


class KVStore(ABC):
    """One task's ordered key-value store, a column per PState plus the engine's own metadata column."""

    @abstractmethod
    def column(self, name: str) -> ColumnHandle:
        """Return the handle of column `name`, creating the column if it does not exist yet."""

    @abstractmethod
    def column_names(self) -> list[str]:
        """Names of every column that exists, in sorted order."""

    @abstractmethod
    def get(self, column: ColumnHandle, key: bytes) -> bytes | None:
        """Committed value of `key`, or None."""

    @abstractmethod
    def multi_get(self, column: ColumnHandle, keys: Sequence[bytes]) -> list[bytes | None]:
        """Committed values of `keys`, in order, None where absent."""

    @abstractmethod
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

    def watch_column(self, name: str, cache: PageCache) -> ColumnWatch | None:
        """Cache committed reads of column `name` in `cache`, kept coherent with every write through this store.

        Call it before the store is shared (before topologies or read threads use it): a batch built
        before the column was watched does not invalidate. None: this store cannot, reads stay uncached.
        """
        return None

    @abstractmethod
    def new_batch(self) -> WriteBatch:
        """Return an empty batch for this store."""

    @abstractmethod
    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Apply `batch` atomically. `sync=True` also waits for the write-ahead log to reach the disk."""

    @abstractmethod
    def close(self) -> None:
        """Release the store; committed writes stay durable. Idempotent."""


def open_store(url: str) -> KVStore:
    """Open the store named by `url`: `memory://NAME` (process-wide, survives reopen) or `rocksdb:///path`."""
    if url.startswith("memory://"):
        from pstates.memory_store import MemoryStore

        return MemoryStore.open(url.removeprefix("memory://"))
    if url.startswith("rocksdb://"):
        from pstates.rocksdb_store import RocksDBStore

        return RocksDBStore.open(url.removeprefix("rocksdb://"))
    raise ValueError(f"unknown store URL {url!r}: expected memory://NAME or rocksdb:///path")
