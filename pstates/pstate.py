"""Typed views of PStates over a store column: what topologies write and queries read.

`bind(spec, reader, writer)` picks the view class for the schema. `reader` is the read path: the store
itself (committed state, what every other topology and query sees) or the owning topology's
`Transaction` (committed state plus its own uncommitted writes). `writer` is that same transaction, or None
for a read-only view whose writes raise `PStateWriteError`. A writable view must read through its own
transaction: the sizes of subindexed collections are kept exact by reading before writing, and those reads
must see the writes made earlier in the transaction.

Keys are encoded with `pstates.keycodec`, values with msgpack; `pstates.schema` documents the layout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias, TypeVar

import msgpack
import numpy as np

from pstates.errors import PStateWriteError, SchemaError
from pstates.int_rows import IntRows, element_keys
from pstates.keycodec import INT_OFFSET, INT_TAG, PACK_TAGGED_U64, PREFIX_END, Key, encode_key, suffix_decoder
from pstates.page_cache import ColumnWatch, IntPage, encode_values
from pstates.schema import (
    ELEMENTS,
    LINKED_MEMBERS,
    LINKED_ORDER,
    CappedNewestFirst,
    LinkedSet,
    Map,
    PackedIntSet,
    PStateSpec,
    SortedMap,
    SortedSet,
    key_guard,
    unpack,
    value_check,
    value_packer,
)
from pstates.store import KVReader
from pstates.transaction import Transaction

_Inner = TypeVar("_Inner", SortedMap, SortedSet)

_pack_meta = msgpack.Packer(use_bin_type=True).pack
_pack_value = msgpack.Packer(use_bin_type=True).pack  # what `schema.value_packer` does for `object`
_unpackb = msgpack.unpackb  # called inline on hot paths; `schema.unpack` documents the options
ROW_BYTES = 9  # a cached int row: its int64 id and (nearly always) a one-byte value code


class PStateBase:
    """The column, read path and optional writer of one PState view."""

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None) -> None:
        if writer is not None and reader is not writer:
            raise ValueError(f"PState {spec.name}: a writable view must read through its own transaction")
        self.spec = spec
        self.name = spec.name
        self._reader = reader
        self._writer = writer
        self._column = reader.column(spec.name)
        # Bound once: the hot paths then cost one attribute load per store call.
        self._get = reader.get
        self._multi_get = reader.multi_get
        self._range = reader.range
        self._check_key = self._key_guard("key", getattr(spec.schema, "key_type", object))

    @property
    def writable(self) -> bool:
        """Whether this view belongs to the owning topology's transaction."""
        return self._writer is not None

    def __repr__(self) -> str:
        mode = "writable" if self._writer is not None else "read-only"
        return f"{type(self).__name__}({self.name!r}, {mode})"

    def _writable(self) -> Transaction:
        if self._writer is None:
            raise PStateWriteError(
                f"PState {self.name} can only be written by its owning topology: "
                "this view is read-only (bind it with the topology's transaction to write)"
            )
        return self._writer

    def _key_guard(self, role: str, declared: object) -> Callable[[object], None]:
        return _memoized(_guards, key_guard, self.name, role, declared)

    def _value_packer(self, role: str, declared: object) -> Callable[[object], bytes]:
        return _memoized(_packers, value_packer, self.name, role, declared)


_guards: dict[tuple[str, str, object], Callable[[object], None]] = {}
_packers: dict[tuple[str, str, object], Callable[[object], bytes]] = {}
_Made = TypeVar("_Made")


def _memoized(
    memo: dict[tuple[str, str, object], _Made], make: Callable[[str, str, object], _Made], *args: Any
) -> _Made:
    """Return `make(pstate, role, declared)`, built once per process: views are bound per task and attempt.

    Building a guard or packer walks the declared type and renders its description; a topology binds
    each of its PStates once per task per attempt, so that was a large share of a small batch's cost.
    """
    key = (args[0], args[1], args[2])
    try:
        found = memo.get(key)
    except TypeError:  # an unhashable declaration: build it every time
        return make(*key)
    if found is None:
        found = memo[key] = make(*key)
    return found


class MapPState(PStateBase):
    """A `Map[K, V]` PState with plain values."""

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> None:
        schema = spec.schema
        if not isinstance(schema, Map) or isinstance(schema.value, SortedMap | SortedSet):
            raise SchemaError(f"PState {spec.name} is not a Map with plain values: {schema!r}")
        super().__init__(spec, reader, writer)
        self._decode_key = suffix_decoder(schema.key_type)
        self._pack = self._value_packer("value", schema.value)
        # `Map[int, object]`, the commonest bulk shape, is encoded by `put_many` with C calls only.
        self._int_keys_any_values = schema.key_type is int and value_check(schema.value) is None

    def get(self, key: Key, default: Any = None) -> Any:
        """Value of `key`, or `default`."""
        raw = self._get(self._column, encode_key(key))
        if raw is None:
            return default
        return _unpackb(raw, strict_map_key=False)

    def multi_get(self, keys: Iterable[Key], default: Any = None) -> list[Any]:
        """Values of `keys`, in order, `default` where absent."""
        raws = self._multi_get(self._column, [encode_key(key) for key in keys])
        return [default if raw is None else unpack(raw) for raw in raws]

    def contains(self, key: Key) -> bool:
        """Whether `key` has a value."""
        return self._get(self._column, encode_key(key)) is not None

    def range(
        self, start: Key = None, end: Key = None, *, reverse: bool = False, limit: int | None = None
    ) -> list[tuple[Any, Any]]:
        """Pairs with `start <= key < end` (None: unbounded), in key order or reversed."""
        low = None if start is None else encode_key(start)
        high = None if end is None else encode_key(end)
        decode = self._decode_key
        pairs = self._range(self._column, low, high, reverse=reverse, limit=limit)
        return [(decode(key, 0), _unpackb(raw, strict_map_key=False)) for key, raw in pairs]

    def put(self, key: Key, value: Any) -> None:
        """Set `key` to `value`."""
        writer = self._writable()
        self._check_key(key)
        writer.put(self._column, encode_key(key), self._pack(value))

    def put_many(self, items: Iterable[tuple[Key, Any]]) -> None:
        """Set every `(key, value)` of `items`, in order; all or nothing if one is invalid."""
        writer = self._writable()
        rows = items if isinstance(items, list) else list(items)
        pairs = _int_keyed_pairs(rows) if self._int_keys_any_values else None
        if pairs is None:  # the checked path: also the one that names what is wrong
            check_key, pack = self._check_key, self._pack
            pairs = [(encode_key(key), pack(value)) for key, value in rows if check_key(key) is None]
        writer.put_many(self._column, pairs)

    def delete(self, key: Key) -> None:
        """Remove `key` (no error if absent)."""
        writer = self._writable()
        self._check_key(key)
        writer.delete(self._column, encode_key(key))


class _Collection(PStateBase):
    """Shared by every subindexed view: the size kept at the bare outer key, and whole-collection delete."""

    def size(self, key: Key) -> int:
        """Number of elements in the collection at `key` (0 if there is none)."""
        raw = self._get(self._column, encode_key(key))
        return 0 if raw is None else int(unpack(raw)[0])

    def delete(self, key: Key) -> None:
        """Remove the whole collection at `key`, its metadata included."""
        writer = self._writable()
        self._check_key(key)
        outer = encode_key(key)
        writer.delete_range(self._column, outer, outer + PREFIX_END)

    def _resize(self, writer: Transaction, outer: bytes, delta: int) -> int:
        raw = self._get(self._column, outer)
        size = (0 if raw is None else int(unpack(raw)[0])) + delta
        if size:
            writer.put(self._column, outer, _pack_meta([size]))
        else:
            writer.delete(self._column, outer)  # an empty collection leaves no key behind
        return size

    def _put_element(self, writer: Transaction, outer: bytes, element: bytes, raw: bytes) -> int:
        """Store one element; return the new size, or 0 if the element already existed."""
        is_new = self._get(self._column, element) is None
        writer.put(self._column, element, raw)
        return self._resize(writer, outer, 1) if is_new else 0

    def _remove_element(self, writer: Transaction, outer: bytes, element: bytes) -> bool:
        if self._get(self._column, element) is None:
            return False
        writer.delete(self._column, element)
        self._resize(writer, outer, -1)
        return True

    def contains_many(self, pairs: Iterable[tuple[Key, Key]]) -> list[bool]:
        """Whether each `(key, element)` is in its collection, in order: one multi-get for all of them."""
        rows = pairs if isinstance(pairs, list) else list(pairs)
        elements = _int_pair_elements(rows)
        if elements is None:
            elements = [encode_key(key) + ELEMENTS + encode_key(element) for key, element in rows]
        return [raw is not None for raw in self._multi_get(self._column, elements)]

    def sizes(self, keys: Iterable[Key]) -> list[int]:
        """The sizes of the collections at `keys`, in order (0 where there is none), with one multi-get."""
        raws = self._multi_get(self._column, [encode_key(key) for key in keys])
        return [0 if raw is None else int(_unpackb(raw)[0]) for raw in raws]

    def _put_elements(self, writer: Transaction, rows: list[tuple[bytes, bytes, bytes]]) -> None:
        """Store `(outer, element, raw)` rows, each outer's size moved once: reads are two multi-gets."""
        column = self._column
        existing = self._multi_get(column, [element for _, element, _ in rows])
        grown: dict[bytes, int] = {}
        added: set[bytes] = set()  # an element given twice is new once
        for (outer, element, _), before in zip(rows, existing, strict=True):
            if before is None and element not in added:
                added.add(element)
                grown[outer] = grown.get(outer, 0) + 1
        outers = list(grown)
        sizes = [
            (0 if raw_meta is None else int(unpack(raw_meta)[0])) + grown[outer]
            for outer, raw_meta in zip(outers, self._multi_get(column, outers), strict=True)
        ]
        # Bulk pairs: folded into the overlay only when this column is next read (`Transaction.put_many`).
        writer.put_many(column, [(element, raw) for _, element, raw in rows])
        writer.put_many(column, [(outer, _pack_meta([size])) for outer, size in zip(outers, sizes, strict=True)])

    def _bounds(self, prefix: bytes, start: Key, end: Key) -> tuple[bytes, bytes]:
        low = prefix if start is None else prefix + encode_key(start)
        high = prefix + PREFIX_END if end is None else prefix + encode_key(end)
        return low, high


class SortedMapPState(_Collection):
    """A `Map[K, SortedMap[K2, V]]` PState."""

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> None:
        inner = _inner(spec, SortedMap)
        super().__init__(spec, reader, writer)
        self._check_sub = self._key_guard("sorted map key", inner.key_type)
        self._int_subs = inner.key_type is int
        self._decode_sub = suffix_decoder(inner.key_type)
        self._pack = self._value_packer("value", inner.value_type)
        # Committed reads of a watched column go through its page cache; a transaction's never do, as
        # they see its uncommitted writes (`pstates.page_cache`).
        watch = None if isinstance(reader, Transaction) else getattr(self._column, "watch", None)
        self._watch: ColumnWatch | None = watch

    def get(self, key: Key, sub: Key, default: Any = None) -> Any:
        """Value at `sub` in the map at `key`, or `default`."""
        raw = self._get(self._column, encode_key(key) + ELEMENTS + encode_key(sub))
        return default if raw is None else unpack(raw)

    def contains(self, key: Key, sub: Key) -> bool:
        """Whether the map at `key` has `sub`."""
        return self._get(self._column, encode_key(key) + ELEMENTS + encode_key(sub)) is not None

    def range(
        self, key: Key, start: Key = None, end: Key = None, *, reverse: bool = False, limit: int | None = None
    ) -> list[tuple[Any, Any]]:
        """Pairs of the map at `key` with `start <= sub < end` (None: unbounded), in order or reversed."""
        prefix = encode_key(key) + ELEMENTS
        low, high = self._bounds(prefix, start, end)
        offset, decode = len(prefix), self._decode_sub
        pairs = self._range(self._column, low, high, reverse=reverse, limit=limit)
        return [(decode(element, offset), _unpackb(raw, strict_map_key=False)) for element, raw in pairs]

    def put(self, key: Key, sub: Key, value: Any) -> None:
        """Set `sub` to `value` in the map at `key`."""
        writer = self._writable()
        self._check_key(key)
        self._check_sub(sub)
        outer = encode_key(key)
        self._put_element(writer, outer, outer + ELEMENTS + encode_key(sub), self._pack(value))

    def int_page(self, key: Key, start: int | None = None, limit: int | None = None) -> IntPage:
        """Int subs `>= start` of the map at `key` (at most `limit`), values as codes into their distinct encodings.

        On a committed view of a PState declared with `page_cache`, served from the process's page cache
        (the whole map at `key` decoded once, then sliced); otherwise read from the store.
        """
        watch = self._watch
        if watch is None:
            ids, raws = self.int_range_raw(key, start, limit)
            return IntPage(ids, *encode_values(raws))
        outer = encode_key(key)
        whole = watch.get(outer)
        if whole is None:
            generation = watch.generation  # before reading: a write landing meanwhile refuses the fill
            most = watch.cache.max_entry_bytes // ROW_BYTES  # rows a collection the cache keeps has at most
            ids, raws = self._int_rows(outer + ELEMENTS, None, most + 1)
            whole = IntPage(ids, *encode_values(raws))
            if len(raws) > most:  # too big to keep (and maybe cut short): read the page alone
                ids, raws = self.int_range_raw(key, start, limit)
                return IntPage(ids, *encode_values(raws))
            watch.fill(outer, whole, generation)
        return whole.page(start, limit)

    def int_range_raw(
        self, key: Key, start: int | None = None, limit: int | None = None
    ) -> tuple[np.ndarray, list[bytes]]:
        """Int subs `>= start` of the map at `key` as an int64 array, with their values still msgpack-encoded.

        For maps keyed by ints read in bulk (a fanout page): the subs are decoded with numpy, not one call
        each, and values that repeat (the same options on most rows) can be decoded once by the caller.
        """
        return self._int_rows(encode_key(key) + ELEMENTS, start, limit)

    def _int_rows(self, prefix: bytes, start: int | None, limit: int | None) -> tuple[np.ndarray, list[bytes]]:
        low, high = self._bounds(prefix, start, None)
        pairs = list(self._range(self._column, low, high, limit=limit))
        if not pairs:
            return np.empty(0, dtype=np.int64), []
        width = len(prefix) + 9  # the int tag and 8 big-endian bytes follow the prefix
        keys = b"".join([element for element, _ in pairs])
        if len(keys) != width * len(pairs):
            raise SchemaError(f"PState {self.name}: int_range_raw needs int subs")
        columns = np.frombuffer(keys, dtype=np.uint8).reshape(len(pairs), width)[:, len(prefix) + 1 :]
        unsigned = np.ascontiguousarray(columns).view(">u8").reshape(-1).astype(np.uint64)
        ids: np.ndarray = (unsigned ^ np.uint64(INT_OFFSET)).view(np.int64)
        return ids, [raw for _, raw in pairs]

    def get_many(self, pairs: Iterable[tuple[Key, Key]], default: Any = None) -> list[Any]:
        """Values at each `(key, sub)`, in order, `default` where absent: one multi-get for all of them."""
        elements = [encode_key(key) + ELEMENTS + encode_key(sub) for key, sub in pairs]
        return [default if raw is None else unpack(raw) for raw in self._multi_get(self._column, elements)]

    def put_many(self, rows: Iterable[tuple[Key, Key, Any]]) -> None:
        """Set every `(key, sub, value)`, in order (a later row wins); sizes move once per key."""
        writer = self._writable()
        check_key, check_sub, pack = self._check_key, self._check_sub, self._pack
        int_subs, pack_int, tag, offset = self._int_subs, PACK_TAGGED_U64, INT_TAG, INT_OFFSET
        prefixes: dict[Key, tuple[bytes, bytes]] = {}  # rows often share a key, and a value object
        packed: dict[int, tuple[object, bytes]] = {}
        encoded: list[tuple[bytes, bytes, bytes]] = []
        for key, sub, value in rows:
            known = prefixes.get(key)
            if known is None:
                check_key(key)
                outer = encode_key(key)
                known = prefixes[key] = (outer, outer + ELEMENTS)
            if int_subs and type(sub) is int and -offset <= sub < offset:  # `encode_key` of an int, inlined
                element = known[1] + pack_int(tag, sub + offset)
            else:
                check_sub(sub)
                element = known[1] + encode_key(sub)
            raw = packed.get(id(value))
            if raw is None:  # the value is kept with its bytes, so its id is not reused meanwhile
                raw = packed[id(value)] = (value, pack(value))
            encoded.append((known[0], element, raw[1]))
        self._put_elements(writer, encoded)

    def put_int_rows(self, rows: IntRows, *, known_new: bool = False) -> None:
        """Set every row of `rows` (int subs), in order; `known_new`: the caller read that none exists yet.

        `known_new` skips the existence read: each row then grows its key's size, so it is only for rows
        the caller found absent in this same transaction (a retried attempt reads them again).
        """
        writer = self._writable()
        if not self._int_subs:
            raise SchemaError(f"PState {self.name}: put_int_rows needs int subs")
        canonical: dict[Key, int] = {}  # a key given twice is one collection
        for key in rows.keys:
            self._check_key(key)
            canonical.setdefault(key, len(canonical))
        remap = np.array([canonical[key] for key in rows.keys], dtype=np.int64)
        key_of_row = remap[rows.key_of_row] if remap.size else rows.key_of_row
        outers = [encode_key(key) for key in canonical]
        subs = np.asarray(rows.subs, dtype=np.int64)
        elements = element_keys(outers, key_of_row, subs)
        packed = [self._pack(value) for value in rows.values]
        raws = [packed[i] for i in rows.value_of_row.tolist()]
        new = np.ones(len(elements), dtype=bool) if known_new else self._absent_once(elements)
        grown = np.bincount(key_of_row[new], minlength=len(outers))
        self._put_sized(writer, list(zip(elements, raws, strict=True)), outers, grown)

    def _absent_once(self, elements: list[bytes]) -> np.ndarray:
        """Which of `elements` are stored nowhere yet, an element given twice counting at its first row."""
        existing = self._multi_get(self._column, elements)
        new = np.fromiter((raw is None for raw in existing), dtype=bool, count=len(elements))
        if len(set(elements)) != len(elements):
            seen: set[bytes] = set()
            for i, element in enumerate(elements):
                new[i] = new[i] and element not in seen
                seen.add(element)
        return new

    def _put_sized(
        self, writer: Transaction, pairs: list[tuple[bytes, bytes]], outers: list[bytes], grown: Any
    ) -> None:
        """Write `pairs` and move each of `outers`' sizes by `grown` (the same `Transaction.put_many` as put_many)."""
        moved = [(outer, int(n)) for outer, n in zip(outers, grown.tolist(), strict=True) if n]
        stored = self._multi_get(self._column, [outer for outer, _ in moved])
        sizes = [
            (outer, (0 if raw is None else int(unpack(raw)[0])) + n)
            for (outer, n), raw in zip(moved, stored, strict=True)
        ]
        writer.put_many(self._column, pairs)
        writer.put_many(self._column, [(outer, _pack_meta([size])) for outer, size in sizes])

    def remove(self, key: Key, sub: Key) -> bool:
        """Remove `sub` from the map at `key`; return whether it was there."""
        writer = self._writable()
        self._check_key(key)
        self._check_sub(sub)
        outer = encode_key(key)
        return self._remove_element(writer, outer, outer + ELEMENTS + encode_key(sub))


class SortedSetPState(_Collection):
    """A `Map[K, SortedSet[M]]` PState."""

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> None:
        inner = _inner(spec, SortedSet)
        super().__init__(spec, reader, writer)
        self._check_member = self._key_guard("member", inner.member_type)
        self._decode_member = suffix_decoder(inner.member_type)

    def contains(self, key: Key, member: Key) -> bool:
        """Whether the set at `key` has `member`."""
        return self._get(self._column, encode_key(key) + ELEMENTS + encode_key(member)) is not None

    def range(
        self, key: Key, start: Key = None, end: Key = None, *, reverse: bool = False, limit: int | None = None
    ) -> list[Any]:
        """Members of the set at `key` with `start <= member < end` (None: unbounded), sorted or reversed."""
        prefix = encode_key(key) + ELEMENTS
        low, high = self._bounds(prefix, start, end)
        offset, decode = len(prefix), self._decode_member
        pairs = self._range(self._column, low, high, reverse=reverse, limit=limit)
        return [decode(element, offset) for element, _ in pairs]

    def add(self, key: Key, member: Key) -> bool:
        """Add `member` to the set at `key`; return whether it was new."""
        writer = self._writable()
        self._check_key(key)
        self._check_member(member)
        outer = encode_key(key)
        return self._put_element(writer, outer, outer + ELEMENTS + encode_key(member), b"") > 0

    def remove(self, key: Key, member: Key) -> bool:
        """Remove `member` from the set at `key`; return whether it was there."""
        writer = self._writable()
        self._check_key(key)
        self._check_member(member)
        outer = encode_key(key)
        return self._remove_element(writer, outer, outer + ELEMENTS + encode_key(member))


class CappedNewestFirstPState(_Collection):
    """Per key, at most `cap` items by item key, read newest (largest) first: timelines, notifications."""

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> None:
        schema = spec.schema
        if not isinstance(schema, CappedNewestFirst):
            raise SchemaError(f"PState {spec.name} is not a CappedNewestFirst: {schema!r}")
        super().__init__(spec, reader, writer)
        self.cap = schema.cap
        self._check_item = self._key_guard("item key", schema.item_key_type)
        self._decode_item = suffix_decoder(schema.item_key_type)
        self._pack = self._value_packer("value", schema.value_type)

    def add(self, key: Key, item_key: Key, value: Any) -> None:
        """Set `item_key` to `value` under `key`, then drop the smallest item keys beyond the cap."""
        writer = self._writable()
        self._check_key(key)
        self._check_item(item_key)
        outer = encode_key(key)
        prefix = outer + ELEMENTS
        size = self._put_element(writer, outer, prefix + encode_key(item_key), self._pack(value))
        if size > self.cap:
            oldest = list(self._range(self._column, prefix, prefix + PREFIX_END, limit=size - self.cap))
            for element, _ in oldest:
                writer.delete(self._column, element)
            self._resize(writer, outer, -len(oldest))

    def newest(self, key: Key, limit: int | None = None, before: Key = None) -> list[tuple[Any, Any]]:
        """Items under `key`, newest first, only those with item key < `before` if given (max_id paging)."""
        prefix = encode_key(key) + ELEMENTS
        low, high = self._bounds(prefix, None, before)
        offset, decode = len(prefix), self._decode_item
        pairs = self._range(self._column, low, high, reverse=True, limit=limit)
        return [(decode(element, offset), _unpackb(raw, strict_map_key=False)) for element, raw in pairs]

    def get(self, key: Key, item_key: Key, default: Any = None) -> Any:
        """Value of `item_key` under `key`, or `default`."""
        raw = self._get(self._column, encode_key(key) + ELEMENTS + encode_key(item_key))
        return default if raw is None else unpack(raw)

    def remove(self, key: Key, item_key: Key) -> bool:
        """Remove `item_key` under `key`; return whether it was there."""
        writer = self._writable()
        self._check_key(key)
        self._check_item(item_key)
        outer = encode_key(key)
        return self._remove_element(writer, outer, outer + ELEMENTS + encode_key(item_key))


class LinkedSetPState(_Collection):
    """Per key, a set that remembers insertion order: an order index and a membership index."""

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> None:
        schema = spec.schema
        if not isinstance(schema, LinkedSet):
            raise SchemaError(f"PState {spec.name} is not a LinkedSet: {schema!r}")
        super().__init__(spec, reader, writer)
        self._check_member = self._key_guard("member", schema.member_type)
        self._decode_member = suffix_decoder(schema.member_type)

    def add(self, key: Key, member: Key) -> bool:
        """Append `member` to the set at `key` unless present; return whether it was new."""
        writer = self._writable()
        self._check_key(key)
        self._check_member(member)
        outer, encoded_member = encode_key(key), encode_key(member)
        membership = outer + LINKED_MEMBERS + encoded_member
        if self._get(self._column, membership) is not None:
            return False
        size, sequence = self._meta(outer)
        encoded_sequence = encode_key(sequence)
        writer.put(self._column, outer + LINKED_ORDER + encoded_sequence, encoded_member)
        writer.put(self._column, membership, encoded_sequence)
        writer.put(self._column, outer, _pack_meta([size + 1, sequence + 1]))
        return True

    def remove(self, key: Key, member: Key) -> bool:
        """Remove `member` from the set at `key`; return whether it was there."""
        writer = self._writable()
        self._check_key(key)
        self._check_member(member)
        outer = encode_key(key)
        membership = outer + LINKED_MEMBERS + encode_key(member)
        encoded_sequence = self._get(self._column, membership)
        if encoded_sequence is None:
            return False
        writer.delete(self._column, membership)
        writer.delete(self._column, outer + LINKED_ORDER + encoded_sequence)
        size, sequence = self._meta(outer)
        if size > 1:
            writer.put(self._column, outer, _pack_meta([size - 1, sequence]))
        else:
            writer.delete(self._column, outer)  # numbering restarts once the set is empty
        return True

    def contains(self, key: Key, member: Key) -> bool:
        """Whether the set at `key` has `member`."""
        return self._get(self._column, encode_key(key) + LINKED_MEMBERS + encode_key(member)) is not None

    def members(self, key: Key, limit: int | None = None, reverse: bool = False) -> list[Any]:
        """Members of the set at `key` in insertion order (newest first if `reverse`)."""
        prefix = encode_key(key) + LINKED_ORDER
        pairs = self._range(self._column, prefix, prefix + PREFIX_END, reverse=reverse, limit=limit)
        decode = self._decode_member
        return [decode(encoded_member, 0) for _, encoded_member in pairs]

    def _meta(self, outer: bytes) -> tuple[int, int]:
        raw = self._get(self._column, outer)
        if raw is None:
            return 0, 0
        size, sequence = unpack(raw)
        return int(size), int(sequence)


class PackedIntSetPState(_Collection):
    """Per key, a sorted set of int64 in chunks of at most `chunk` members, each chunk one store key.

    A chunk's store key ends with the encoding of its first member, so the chunk that holds (or would hold)
    `m` is the last one whose key is <= enc(m): one reverse range read of one row. Adding to a full chunk
    splits it in two halves; removing its first member re-keys it; an emptied chunk leaves no key.
    """

    def __init__(self, spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> None:
        schema = spec.schema
        if not isinstance(schema, PackedIntSet):
            raise SchemaError(f"PState {spec.name} is not a PackedIntSet: {schema!r}")
        super().__init__(spec, reader, writer)
        self.chunk = schema.chunk

    def add(self, key: Key, member: int) -> bool:
        """Add `member` to the set at `key`; return whether it was new."""
        writer, outer = self._writable(), self._outer(key)
        _check_int64(self.name, member)
        found = self._locate(outer, member)
        if found is None:
            self._write(writer, outer, None, np.array([member], dtype=np.int64))
        else:
            element, members = found
            at = int(np.searchsorted(members, member))
            if at < len(members) and members[at] == member:
                return False
            self._write(writer, outer, element, np.insert(members, at, member))
        self._resize(writer, outer, 1)
        return True

    def remove(self, key: Key, member: int) -> bool:
        """Remove `member` from the set at `key`; return whether it was there."""
        writer, outer = self._writable(), self._outer(key)
        found = self._locate(outer, member) if _is_int64(member) else None
        if found is None:
            return False
        element, members = found
        at = int(np.searchsorted(members, member))
        if at == len(members) or members[at] != member:
            return False
        self._write(writer, outer, element, np.delete(members, at))
        self._resize(writer, outer, -1)
        return True

    def contains(self, key: Key, member: int) -> bool:
        """Whether the set at `key` has `member`."""
        if not _is_int64(member):
            return False
        found = self._locate(encode_key(key), member)
        if found is None:
            return False
        members = found[1]
        at = int(np.searchsorted(members, member))
        return at < len(members) and bool(members[at] == member)

    def members(self, key: Key, after: int | None = None, limit: int | None = None) -> np.ndarray:
        """Members of the set at `key` greater than `after` (None: all), ascending, at most `limit`: int64."""
        outer = encode_key(key)
        prefix = outer + ELEMENTS
        low = prefix
        if after is not None:
            found = self._locate(outer, after)
            low = prefix if found is None else found[0]
        wanted = np.iinfo(np.int64).max if limit is None else limit
        parts: list[np.ndarray] = []
        taken = 0
        while taken < wanted:
            chunks = 1 + (wanted - taken) // self.chunk if limit is not None else None
            rows = list(self._range(self._column, low, prefix + PREFIX_END, limit=chunks))
            for _, raw in rows:
                members = np.frombuffer(raw, dtype="<i8")
                if after is not None and members[0] <= after:
                    members = members[int(np.searchsorted(members, after, side="right")) :]
                parts.append(members)
                taken += len(members)
            if chunks is None or len(rows) < chunks:
                break
            low = rows[-1][0] + b"\x00"  # the smallest key after the last chunk read
        found_all = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        return found_all if limit is None else found_all[:limit]

    def _outer(self, key: Key) -> bytes:
        self._check_key(key)
        return encode_key(key)

    def _locate(self, outer: bytes, member: int) -> tuple[bytes, np.ndarray] | None:
        """The chunk that holds or would hold `member`: the last with first <= member, else the first one."""
        prefix = outer + ELEMENTS
        rows = list(self._range(self._column, prefix, prefix + encode_key(member) + b"\x00", reverse=True, limit=1))
        if not rows:
            rows = list(self._range(self._column, prefix, prefix + PREFIX_END, limit=1))
        if not rows:
            return None
        element, raw = rows[0]
        return element, np.frombuffer(raw, dtype="<i8")

    def _write(self, writer: Transaction, outer: bytes, element: bytes | None, members: np.ndarray) -> None:
        """Replace the chunk at `element` (None: a new chunk) by `members`, split in halves when over-full."""
        prefix = outer + ELEMENTS
        pieces = [members] if len(members) <= self.chunk else np.array_split(members, 2)
        pieces = [piece for piece in pieces if len(piece)]
        keys = [prefix + encode_key(int(piece[0])) for piece in pieces]
        if element is not None and element not in keys:
            writer.delete(self._column, element)
        for piece_key, piece in zip(keys, pieces, strict=True):
            writer.put(self._column, piece_key, piece.astype("<i8", copy=False).tobytes())


def _is_int64(value: object) -> bool:
    return type(value) is int and -(1 << 63) <= value < (1 << 63)


def _check_int64(pstate: str, value: object) -> None:
    if not _is_int64(value):
        raise SchemaError(f"PState {pstate}: member must be a signed 64-bit int, got {type(value).__name__} {value!r}")


def _int_keyed_pairs(rows: list[tuple[Key, Any]]) -> list[tuple[bytes, bytes]] | None:
    """Encode int-keyed rows with C calls only (the microbatch write path); None if a row needs checking.

    The comprehension's filter runs before its expression, so a non-int key is skipped, not added to;
    a skipped row, an int outside 64 bits or a value msgpack refuses sends the caller to the checked path.
    """
    pack_key, tag, offset, pack = PACK_TAGGED_U64, INT_TAG, INT_OFFSET, _pack_value
    try:
        pairs = [(pack_key(tag, key + offset), pack(value)) for key, value in rows if type(key) is int]
    except (struct.error, TypeError, ValueError, OverflowError):
        return None
    return pairs if len(pairs) == len(rows) else None


def _int_pair_elements(pairs: list[tuple[Key, Key]]) -> list[bytes] | None:
    """Element keys of `(int, int)` pairs with C calls only (`encode_key` inlined); None if a pair is not."""
    pack_key, tag, offset, elements = PACK_TAGGED_U64, INT_TAG, INT_OFFSET, ELEMENTS
    try:
        keys = [
            pack_key(tag, key + offset) + elements + pack_key(tag, member + offset)
            for key, member in pairs
            if type(key) is int and type(member) is int
        ]
    except struct.error:  # outside 64 bits: `encode_key` raises its own error
        return None
    return keys if len(keys) == len(pairs) else None


def _inner(spec: PStateSpec, kind: type[_Inner]) -> _Inner:
    schema = spec.schema
    if not isinstance(schema, Map) or not isinstance(schema.value, kind):
        raise SchemaError(f"PState {spec.name} is not a Map of {kind.__name__}: {schema!r}")
    return schema.value


PStateView: TypeAlias = (
    MapPState | SortedMapPState | SortedSetPState | CappedNewestFirstPState | LinkedSetPState | PackedIntSetPState
)


def bind(spec: PStateSpec, reader: KVReader, writer: Transaction | None = None) -> PStateView:
    """Return the view of `spec` that reads through `reader` and, if given, writes through `writer`."""
    schema = spec.schema
    if isinstance(schema, CappedNewestFirst):
        return CappedNewestFirstPState(spec, reader, writer)
    if isinstance(schema, LinkedSet):
        return LinkedSetPState(spec, reader, writer)
    if isinstance(schema, PackedIntSet):
        return PackedIntSetPState(spec, reader, writer)
    if isinstance(schema.value, SortedMap):
        return SortedMapPState(spec, reader, writer)
    if isinstance(schema.value, SortedSet):
        return SortedSetPState(spec, reader, writer)
    return MapPState(spec, reader, writer)
