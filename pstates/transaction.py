"""A transaction over a `KVStore`: writes buffered until one atomic commit, readable by their writer.

The owning topology reads through its transaction and sees its own uncommitted writes; every other reader
reads the store and sees only committed state. The transaction keeps, per column, an overlay of its writes:

* `values`: the newest buffered value of each written key, or `None` for a buffered delete;
* `starts` / `ends`: the ranges it deleted, as sorted disjoint intervals, hiding the store's keys inside.

A buffered value always wins over a cleared range, because `delete_range` drops the buffered values in its
range: that is exactly sequential application. So `commit` emits, per column, the range deletes first and
then one put or delete per written key, in a single `KVStore.write`. Rewriting a key (a collection's size)
a thousand times in a microbatch therefore costs one store write, not a thousand.

Reads of a column the transaction never wrote go straight to the store.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from operator import itemgetter
from typing import Literal, TypeAlias

from sortedcontainers import SortedList

from pstates.errors import TransactionClosedError
from pstates.store import ColumnHandle, KVStore, WriteBatch

# A key interval [low, high); None is unbounded.
Bounds: TypeAlias = tuple[bytes | None, bytes | None]

# One buffered write, as `Transaction.operations` lists them.
Operation: TypeAlias = tuple[ColumnHandle, Literal["put", "delete", "delete_range"], bytes, bytes | None]

_first = itemgetter(0)


class Overlay:
    """One column's buffered writes (see the module docstring for the invariants)."""

    __slots__ = ("_sorted", "ends", "pending_keys", "starts", "values")

    def __init__(self) -> None:
        self.values: dict[bytes, bytes | None] = {}
        self.starts: list[bytes] = []  # cleared intervals [starts[i], ends[i]), sorted and disjoint
        self.ends: list[bytes] = []
        # Sorted view of `values`' keys, built lazily: write bursts only append to `pending_keys`.
        self._sorted = SortedList()
        self.pending_keys: list[bytes] = []

    def put(self, key: bytes, value: bytes | None) -> None:
        """Buffer `value` for `key` (None: a delete)."""
        values = self.values
        if key not in values:
            self.pending_keys.append(key)
        values[key] = value

    def delete_range(self, start: bytes, end: bytes) -> None:
        """Buffer the deletion of every key in `[start, end)`."""
        if start >= end:
            return
        keys = self.sorted_keys()
        first, last = keys.bisect_left(start), keys.bisect_left(end)
        for key in keys[first:last]:
            del self.values[key]
        del keys[first:last]
        self._clear(start, end)

    def decides(self, key: bytes) -> bool:
        """Whether the transaction wrote or deleted `key`, so the store's value does not matter."""
        return key in self.values or self.is_cleared(key)

    def is_cleared(self, key: bytes) -> bool:
        """Whether a buffered `delete_range` covers `key`."""
        i = bisect_right(self.starts, key) - 1
        return i >= 0 and key < self.ends[i]

    def sorted_keys(self) -> SortedList:
        """Every written key, sorted."""
        if self.pending_keys:
            self._sorted.update(self.pending_keys)
            self.pending_keys = []
        return self._sorted

    def visible_segments(self, start: bytes | None, end: bytes | None) -> list[Bounds]:
        """The parts of `[start, end)` that no cleared interval covers, ascending."""
        segments: list[Bounds] = []
        low = start
        first = 0 if start is None else max(bisect_right(self.starts, start) - 1, 0)
        for i in range(first, len(self.starts)):
            cleared_start, cleared_end = self.starts[i], self.ends[i]
            if end is not None and cleared_start >= end:
                break
            if low is None or cleared_start > low:
                segments.append((low, cleared_start))
            if low is None or cleared_end > low:
                low = cleared_end
        if end is None or low is None or low < end:
            segments.append((low, end))
        return segments

    def _clear(self, start: bytes, end: bytes) -> None:
        # Merge with every interval that overlaps or touches [start, end).
        first = bisect_left(self.ends, start)
        last = bisect_right(self.starts, end)
        if first < last:
            start = min(start, self.starts[first])
            end = max(end, self.ends[last - 1])
        self.starts[first:last] = [start]
        self.ends[first:last] = [end]


class Transaction:
    """Buffered writes to one store, committed atomically, with reads that see them."""

    def __init__(self, store: KVStore) -> None:
        self._store = store
        self._overlays: dict[ColumnHandle, Overlay] = {}
        # `put_many` pairs not yet folded into the overlays. They are always the newest writes: any other
        # access folds them first. A commit with nothing else to do writes them straight to the batch.
        self._bulk: dict[ColumnHandle, list[tuple[bytes, bytes]]] = {}
        self._writes = 0
        self._finished = False

    @property
    def store(self) -> KVStore:
        """The store this transaction commits to."""
        return self._store

    @property
    def is_empty(self) -> bool:
        """Whether nothing has been written."""
        return self._writes == 0

    @property
    def finished(self) -> bool:
        """Whether the transaction was committed or aborted."""
        return self._finished

    def __len__(self) -> int:
        """Number of write operations buffered."""
        return self._writes

    # --- the read half of KVStore ---------------------------------------------------------------------

    def column(self, name: str) -> ColumnHandle:
        """Return the handle of column `name`, creating the column if it does not exist yet."""
        self._check_open()
        return self._store.column(name)

    def get(self, column: ColumnHandle, key: bytes) -> bytes | None:
        """Value of `key` including this transaction's writes, or None."""
        if self._finished:
            self._check_open()
        if self._bulk and column in self._bulk:
            self._fold_bulk(column)
        overlay = self._overlays.get(column)
        if overlay is not None and overlay.decides(key):
            return overlay.values.get(key)
        return self._store.get(column, key)

    def multi_get(self, column: ColumnHandle, keys: Sequence[bytes]) -> list[bytes | None]:
        """Values of `keys` including this transaction's writes, in order, None where absent."""
        self._check_open()
        if self._bulk and column in self._bulk:
            self._fold_bulk(column)
        overlay = self._overlays.get(column)
        if overlay is None:
            return self._store.multi_get(column, keys)
        values = overlay.values
        found = [values.get(key) for key in keys]
        undecided = [i for i, key in enumerate(keys) if not overlay.decides(key)]
        stored = self._store.multi_get(column, [keys[i] for i in undecided])
        for i, value in zip(undecided, stored, strict=True):
            found[i] = value
        return found

    def range(
        self,
        column: ColumnHandle,
        start: bytes | None = None,
        end: bytes | None = None,
        *,
        reverse: bool = False,
        limit: int | None = None,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with `start <= key < end` (None: unbounded) including this transaction's writes."""
        self._check_open()
        if self._bulk and column in self._bulk:
            self._fold_bulk(column)
        overlay = self._overlays.get(column)
        if overlay is None:
            return self._store.range(column, start, end, reverse=reverse, limit=limit)
        merged = heapq.merge(
            self._buffered_pairs(overlay, start, end, reverse, limit),
            self._stored_pairs(column, overlay, start, end, reverse),
            key=_first,
            reverse=reverse,
        )
        return merged if limit is None else islice(merged, limit)

    # --- writes ---------------------------------------------------------------------------------------

    def put(self, column: ColumnHandle, key: bytes, value: bytes) -> None:
        """Set `key` to `value` in `column` on commit."""
        self._overlay(column).put(key, value)

    def put_many(self, column: ColumnHandle, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Set every `(key, value)` of `pairs` in `column` on commit, in order (a later pair wins)."""
        self._check_open()
        buffered = self._bulk.setdefault(column, [])
        before = len(buffered)
        try:
            buffered.extend(pairs)
        finally:  # pairs produced before a failing one are written, as a loop of `put` would
            self._writes += len(buffered) - before

    def delete(self, column: ColumnHandle, key: bytes) -> None:
        """Remove `key` from `column` on commit (no error if absent)."""
        self._overlay(column).put(key, None)

    def delete_range(self, column: ColumnHandle, start: bytes, end: bytes) -> None:
        """Remove every key `start <= key < end` from `column` on commit."""
        self._overlay(column).delete_range(start, end)

    def operations(self) -> list[Operation]:
        """The writes `commit` would make, in order: per column its range deletes, then its puts and deletes.

        Each is `(column, "put", key, value)`, `(column, "delete", key, None)` or
        `(column, "delete_range", start, end)`.
        """
        self._check_open()
        for column in list(self._bulk):
            self._fold_bulk(column)
        return list(_operations(self._overlays))

    def commit(self, sync: bool = False) -> None:
        """Write everything buffered in one atomic store write; `sync=True` waits for the disk."""
        self._check_open()
        self._finished = True
        overlays, self._overlays = self._overlays, {}
        bulk, self._bulk = self._bulk, {}
        if self._writes:
            self._store.write(self._batch_of(overlays, bulk), sync=sync)

    def abort(self) -> None:
        """Discard everything buffered."""
        self._check_open()
        self._finished = True
        self._overlays = {}
        self._bulk = {}

    # --- internals ------------------------------------------------------------------------------------

    def _fold_bulk(self, column: ColumnHandle) -> None:
        """Move `column`'s `put_many` pairs into its overlay, in order, so reads and other writes see them.

        Columns are independent, so only the column being touched is folded: the engine's offset write to its
        meta column must not cost a pass over a microbatch's bulk writes.
        """
        pairs = self._bulk.pop(column)
        overlay = self._overlays.get(column)
        if overlay is None:
            overlay = self._overlays[column] = Overlay()
        put = overlay.put
        for key, value in pairs:
            put(key, value)

    def _overlay(self, column: ColumnHandle) -> Overlay:
        self._check_open()
        if self._bulk and column in self._bulk:
            self._fold_bulk(column)
        self._writes += 1
        overlay = self._overlays.get(column)
        if overlay is None:
            overlay = self._overlays[column] = Overlay()
        return overlay

    def _batch_of(
        self, overlays: dict[ColumnHandle, Overlay], bulk: dict[ColumnHandle, list[tuple[bytes, bytes]]]
    ) -> WriteBatch:
        # The same operations as `_operations`, in the same order, without a tuple per write: this is the
        # commit of every microbatch. Each key appears once per column, so puts and deletes between
        # different keys commute; range deletes go first, as they came before every surviving write.
        batch = self._store.new_batch()
        for column, overlay in overlays.items():
            for start, end in zip(overlay.starts, overlay.ends, strict=True):
                batch.delete_range(column, start, end)
            values = overlay.values
            deleted = [key for key, value in values.items() if value is None]
            if not deleted:
                batch.put_many(column, values.items())  # type: ignore[arg-type]  # no None among them
                continue
            for key in deleted:
                batch.delete(column, key)
            batch.put_many(column, [(key, value) for key, value in values.items() if value is not None])
        for column, pairs in bulk.items():  # newer than every overlay write: they go last, in order
            batch.put_many(column, pairs)
        return batch

    @staticmethod
    def _buffered_pairs(
        overlay: Overlay, start: bytes | None, end: bytes | None, reverse: bool, limit: int | None
    ) -> list[tuple[bytes, bytes]]:
        # Copied, so writing while consuming a merged range cannot break the sorted key list's iterator
        # (the stored side is still filtered by the live `values`: consume a range before writing).
        values = overlay.values
        keys = overlay.sorted_keys().irange(start, end, inclusive=(True, False), reverse=reverse)
        pairs = ((key, value) for key in keys if (value := values[key]) is not None)
        return list(pairs if limit is None else islice(pairs, limit))

    def _stored_pairs(
        self, column: ColumnHandle, overlay: Overlay, start: bytes | None, end: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        segments = overlay.visible_segments(start, end)
        if reverse:
            segments.reverse()
        scan = self._store.range
        stored = chain.from_iterable(scan(column, low, high, reverse=reverse) for low, high in segments)
        values = overlay.values
        return (pair for pair in stored if pair[0] not in values)

    def _check_open(self) -> None:
        if self._finished:
            raise TransactionClosedError("the transaction was already committed or aborted")


def _operations(overlays: dict[ColumnHandle, Overlay]) -> Iterator[Operation]:
    # Range deletes first: a buffered value always postdates every range delete that covers its key.
    for column, overlay in overlays.items():
        for start, end in zip(overlay.starts, overlay.ends, strict=True):
            yield column, "delete_range", start, end
        for key, value in overlay.values.items():
            yield (column, "delete", key, None) if value is None else (column, "put", key, value)
