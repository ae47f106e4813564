"""A read cache of decoded int-keyed collections, kept coherent by the store that holds them.

A PState declared with `page_cache=True` (a `Map[K, SortedMap[int, V]]`: fanout's follower buckets) is read
through `SortedMapPState.int_page`. On the store's committed view that read is served from here: the whole
collection at a top-level key, decoded once into an `IntPage` (the subs as an int64 array, each value as a
small code into the collection's distinct encodings), then sliced per page with one `searchsorted`.

Coherence comes from where the cache sits, not from its callers:

* It is filled only from the store's committed state (a read-only view over the store itself; a view over a
  `Transaction` never uses it), so no uncommitted write of an open or aborted transaction can reach it.
* Every write to a watched column goes through the store's `WriteBatch`, which records the top-level keys it
  touches (puts, deletes, range deletes); `KVStore.write` drops those collections once the batch is applied,
  whoever wrote it: a topology's commit, a microbatch redo, a changelog restore or a standby catching up.
* A fill made while a write to the same column was landing (the workers' read threads) is discarded: the
  column's generation moves on every invalidation, and a fill is kept only if it did not move since the
  fill started reading.
* Closing the store drops its collections; a store opened again starts empty.

The cache is bounded by bytes (an LRU over every watched column of the process; `PageCache(budget_bytes)`,
default `DEFAULT_BUDGET_BYTES` or the `TUSK_PAGE_CACHE_MB` environment variable). A collection larger than a
quarter of the budget is not cached: its pages are read from the store each time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pstates.keycodec import INT_TAG, PREFIX_END, decode_key_at

DEFAULT_BUDGET_BYTES = 256 << 20
ENTRY_OVERHEAD_BYTES = 512  # the entry's objects, its LRU slot and its key (tracemalloc: ~550 with one value)
VALUE_OVERHEAD_BYTES = 64  # each distinct encoding: a bytes object and its slot in the tuple
INT_PREFIX = bytes([INT_TAG])


@dataclass(frozen=True, slots=True)
class IntPage:
    """Rows of an int-keyed sorted map: `ids` (int64, ascending) and `codes`, each row's index into `values`.

    `values` holds each distinct msgpack encoding of the rows' values once, so a caller decides one verdict
    per distinct value and applies it to every row with `codes` (nearly every follow has the same options).
    Arrays may be views of a cached collection: read them, never write them.
    """

    ids: np.ndarray
    codes: np.ndarray
    values: tuple[bytes, ...]

    def __len__(self) -> int:
        return int(self.ids.size)

    def page(self, start: int | None, limit: int | None) -> IntPage:
        """The rows with id `>= start` (None: from the first), at most `limit` of them."""
        first = 0 if start is None else int(np.searchsorted(self.ids, start))
        last = self.ids.size if limit is None else min(self.ids.size, first + limit)
        if first == 0 and last == self.ids.size:
            return self
        return IntPage(self.ids[first:last], self.codes[first:last], self.values)

    @property
    def nbytes(self) -> int:
        """What holding this page costs, roughly, in bytes."""
        held = sum(len(value) + VALUE_OVERHEAD_BYTES for value in self.values)
        return ENTRY_OVERHEAD_BYTES + self.ids.nbytes + self.codes.nbytes + held


EMPTY_PAGE = IntPage(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8), ())


def encode_values(raws: list[bytes]) -> tuple[np.ndarray, tuple[bytes, ...]]:
    """Return each of `raws` as a code into the distinct encodings, and those encodings in first-seen order.

    Each raw is one msgpack object, and msgpack objects are self-delimiting: so if the concatenation of the
    raws is the first one repeated, every raw is the first one. That test is a join and a memcmp, no Python
    work per row; it holds for nearly every bucket (all its follows have the same options).
    """
    if not raws:
        return np.zeros(0, dtype=np.uint8), ()
    first = raws[0]
    if b"".join(raws) == first * len(raws):
        return np.zeros(len(raws), dtype=np.uint8), (first,)
    values = tuple(dict.fromkeys(raws))
    index = {raw: code for code, raw in enumerate(values)}
    dtype = np.uint8 if len(values) <= 1 << 8 else np.uint16 if len(values) <= 1 << 16 else np.uint32
    return np.fromiter(map(index.__getitem__, raws), dtype=dtype, count=len(raws)), values


class PageCache:
    """A process's cached collections, least recently used first, within `budget_bytes`."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError(f"a page cache budget is a byte count >= 0, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[ColumnWatch, bytes], IntPage] = OrderedDict()
        self._lock = threading.Lock()  # a worker's read threads fill and hit beside its main loop's writes

    @property
    def max_entry_bytes(self) -> int:
        """The largest collection kept: a quarter of the budget, so one bucket cannot empty the cache."""
        return self.budget_bytes // 4

    def __len__(self) -> int:
        return len(self._entries)

    def watch(self, column: str) -> ColumnWatch:
        """A new watch of one store's `column`: what its writes invalidate and its committed reads fill."""
        return ColumnWatch(self, column)

    def _get(self, watch: ColumnWatch, outer: bytes) -> IntPage | None:
        key = (watch, outer)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def _put(self, watch: ColumnWatch, outer: bytes, page: IntPage, generation: int) -> None:
        size = page.nbytes
        if size > self.max_entry_bytes:
            return
        with self._lock:
            if watch.generation != generation or watch.closed:
                return  # a write to this column landed while the page was read: it may be stale
            key = (watch, outer)
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self.used_bytes -= replaced.nbytes
            self._entries[key] = page
            watch.outers.add(outer)
            self.used_bytes += size
            while self.used_bytes > self.budget_bytes:
                (old_watch, old_outer), old = self._entries.popitem(last=False)
                old_watch.outers.discard(old_outer)
                self.used_bytes -= old.nbytes

    def _drop(self, watch: ColumnWatch, outers: Iterable[bytes]) -> None:
        """Forget `watch`'s collections at `outers`, and move its generation on (caller holds the lock)."""
        watch.generation += 1
        for outer in outers:
            dropped = self._entries.pop((watch, outer), None)
            if dropped is not None:
                self.used_bytes -= dropped.nbytes
                watch.outers.discard(outer)


class ColumnWatch:
    """One store column's link to its `PageCache`: reads fill and hit through it, writes invalidate it.

    Compared by identity: two stores (or one store opened twice) never share a watch.
    """

    __slots__ = ("cache", "closed", "column", "generation", "outers")

    def __init__(self, cache: PageCache, column: str) -> None:
        self.cache = cache
        self.column = column
        self.generation = 0  # moves on every invalidation: a fill that saw another value is discarded
        self.outers: set[bytes] = set()  # the top-level keys cached for this column
        self.closed = False

    def __repr__(self) -> str:
        return f"ColumnWatch({self.column!r}, {len(self.outers)} cached)"

    def get(self, outer: bytes) -> IntPage | None:
        """The cached collection at top-level key `outer`, if any."""
        return None if self.closed else self.cache._get(self, outer)

    def fill(self, outer: bytes, page: IntPage, generation: int) -> None:
        """Keep `page` as the collection at `outer`, read from committed state since `generation` was current."""
        self.cache._put(self, outer, page, generation)

    def invalidate(self, written: Iterable[bytes], ranges: Iterable[tuple[bytes, bytes]] = ()) -> None:
        """Drop the collections whose top-level keys `written` keys or a `[start, end)` of `ranges` touch."""
        outers = {outer_of(key) for key in written}
        with self.cache._lock:
            for start, end in ranges:  # rare (a whole collection deleted): compare with every cached one
                outers.update(o for o in self.outers if start < o + PREFIX_END and o < end)
            self.cache._drop(self, outers)

    def clear(self) -> None:
        """Drop every collection of this column."""
        with self.cache._lock:
            self.cache._drop(self, list(self.outers))

    def close(self) -> None:
        """Drop every collection of this column and cache none again: its store is closing."""
        with self.cache._lock:
            self.closed = True
            self.cache._drop(self, list(self.outers))


def outer_of(key: bytes) -> bytes:
    """The encoded top-level key a stored key belongs to (a collection's size key is that key itself)."""
    if key[:1] == INT_PREFIX:  # an int's tag and 8 bytes: the commonest top-level key
        return key[:9]
    return key[: decode_key_at(key, 0)[1]]


class TouchedColumns:
    """What a `WriteBatch` wrote to watched columns, for `KVStore.write` to invalidate once it is applied."""

    __slots__ = ("keys", "ranges")

    def __init__(self) -> None:
        self.keys: dict[ColumnWatch, list[bytes]] = {}
        self.ranges: dict[ColumnWatch, list[tuple[bytes, bytes]]] = {}

    def key(self, watch: ColumnWatch, key: bytes) -> None:
        """Note a put or delete of `key`."""
        self.keys.setdefault(watch, []).append(key)

    def many(self, watch: ColumnWatch, keys: Iterable[bytes]) -> None:
        """Note puts of `keys`."""
        self.keys.setdefault(watch, []).extend(keys)

    def range(self, watch: ColumnWatch, start: bytes, end: bytes) -> None:
        """Note a delete of `[start, end)`."""
        self.ranges.setdefault(watch, []).append((start, end))

    def invalidate(self) -> None:
        """Drop every cached collection the noted writes touched."""
        for watch in {*self.keys, *self.ranges}:
            watch.invalidate(self.keys.get(watch, ()), self.ranges.get(watch, ()))


def budget_from_environment() -> int:
    """The process's cache budget: `TUSK_PAGE_CACHE_MB` if set, else `DEFAULT_BUDGET_BYTES`."""
    configured = os.environ.get("TUSK_PAGE_CACHE_MB")
    return DEFAULT_BUDGET_BYTES if configured is None else int(float(configured) * (1 << 20))


_shared: PageCache | None = None


def shared_cache() -> PageCache:
    """The process-wide cache every store uses unless given its own (made on first use)."""
    global _shared
    if _shared is None:
        _shared = PageCache(budget_from_environment())
    return _shared
