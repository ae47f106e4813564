"""Declared PState schemas, their validation, and how each one is laid out in its store column.

A module declares each PState as `PStateSpec("$$name", schema)`:

    Map(int, str)                          $$names: id -> name
    Map(int, object)                       any value msgpack encodes (`typing.Any` means the same)
    Map(int, SortedMap(int, bytes))        subindexed: per key, a sorted map that may outgrow memory
    Map(str, SortedSet(int))               subindexed: per key, a sorted set
    CappedNewestFirst(int, int, dict, 600) per key, the 600 largest item keys (newest ids), newest first
    LinkedSet(int, int)                    per key, a set that remembers insertion order
    PackedIntSet(int)                      per key, a sorted set of 64-bit ints read as numpy arrays

Key types: None's type, bool, int, float, str, bytes, `tuple` (any tuple key), a tuple of key types such as
`(int, str)` (a tuple key of exactly those elements), a union such as `int | str`, or `object` (any key the
codec accepts). Value types: any of those except tuples, plus dict and list, a union, or `object`. A write
is checked against the declaration: keys and values by their top-level Python type (bool is not an int
here), and values must also be encodable by msgpack. Reads are not checked: a mistyped key just misses.

Values are msgpack (`use_bin_type=True`; decoded with `raw=False, strict_map_key=False`), so arrays come
back as lists: declare a list, not a tuple.

Storage layout, one column per PState, `enc` being `pstates.keycodec.encode_key`:

    Map                   enc(k)                       -> msgpack(v)
    SortedMap             enc(k)                       -> msgpack([size])
                          enc(k) 0x01 enc(sub)         -> msgpack(v)
    SortedSet             enc(k)                       -> msgpack([size])
                          enc(k) 0x01 enc(member)      -> b""
    CappedNewestFirst     like SortedMap, keyed by item key; `add` drops the smallest beyond the cap
    LinkedSet             enc(k)                       -> msgpack([size, next_sequence])
                          enc(k) 0x01 enc(sequence)    -> enc(member)     (insertion order)
                          enc(k) 0x02 enc(member)      -> enc(sequence)   (membership)
    PackedIntSet          enc(k)                       -> msgpack([size])
                          enc(k) 0x01 enc(first)       -> int64 little-endian array, sorted, starting at
                                                          `first`, at most `chunk` members

Every inner element is one store key (a PackedIntSet chunk holds up to `chunk` of them: a fanout reads
thousands of follower ids with a few gets and no per-member decoding), so a collection can be larger than
memory and is range-read in order; its size is O(1) from the bare outer key, which exists only while the
collection is non-empty.
Encodings are prefix-free, so `[enc(k), enc(k) + 0xFF)` holds exactly one collection: deleting it is one
range delete.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import msgpack

from pstates.errors import SchemaError

ELEMENTS = b"\x01"  # sub-index of SortedMap, SortedSet and CappedNewestFirst elements
LINKED_ORDER = b"\x01"  # LinkedSet: sequence -> member
LINKED_MEMBERS = b"\x02"  # LinkedSet: member -> sequence

_KEY_TYPES = (type(None), bool, int, float, str, bytes, tuple)
_VALUE_TYPES = (type(None), bool, int, float, str, bytes, dict, list)

Check: TypeAlias = Callable[[object], bool]


@dataclass(frozen=True)
class SortedMap:
    """A subindexed sorted map nested under each key of a `Map`."""

    key_type: object
    value_type: object = object

    def __post_init__(self) -> None:
        key_check(self.key_type)
        value_check(self.value_type)


@dataclass(frozen=True)
class SortedSet:
    """A subindexed sorted set nested under each key of a `Map`."""

    member_type: object

    def __post_init__(self) -> None:
        key_check(self.member_type)


@dataclass(frozen=True)
class Map:
    """A map from keys to plain values or to subindexed `SortedMap` / `SortedSet` collections."""

    key_type: object
    value: object = object

    def __post_init__(self) -> None:
        key_check(self.key_type)
        if not isinstance(self.value, SortedMap | SortedSet):
            value_check(self.value)


@dataclass(frozen=True)
class CappedNewestFirst:
    """Per key, at most `cap` items ordered by item key, read largest (newest) first."""

    key_type: object
    item_key_type: object
    value_type: object
    cap: int

    def __post_init__(self) -> None:
        key_check(self.key_type)
        key_check(self.item_key_type)
        value_check(self.value_type)
        if self.cap < 1:
            raise SchemaError(f"CappedNewestFirst cap must be positive, got {self.cap}")


@dataclass(frozen=True)
class LinkedSet:
    """Per key, a set of members that remembers the order they were added in."""

    key_type: object
    member_type: object

    def __post_init__(self) -> None:
        key_check(self.key_type)
        key_check(self.member_type)


@dataclass(frozen=True)
class PackedIntSet:
    """Per key, a sorted set of signed 64-bit ints stored `chunk` to a store key, read as numpy arrays."""

    key_type: object
    chunk: int = 512

    def __post_init__(self) -> None:
        key_check(self.key_type)
        if self.chunk < 2:
            raise SchemaError(f"PackedIntSet chunk must be at least 2, got {self.chunk}")


Schema: TypeAlias = Map | CappedNewestFirst | LinkedSet | PackedIntSet


@dataclass(frozen=True)
class PStateSpec:
    """A declared PState: its stable name (`$$...`, also its column) and its schema.

    `page_cache`: committed reads of `int_page` go through the process's page cache (`pstates.page_cache`);
    only for a `Map[K, SortedMap[int, V]]` read in whole pages far more often than it is written.
    """

    name: str
    schema: Schema
    page_cache: bool = False

    def __post_init__(self) -> None:
        if not self.name.startswith("$$") or len(self.name) < 3:
            raise SchemaError(f"PState name {self.name!r} must start with '$$', like '$$followers'")
        if not isinstance(self.schema, Map | CappedNewestFirst | LinkedSet | PackedIntSet):
            kinds = "a Map, CappedNewestFirst, LinkedSet or PackedIntSet"
            raise SchemaError(f"PState {self.name}: {self.schema!r} is not {kinds}")
        if self.page_cache and not (
            isinstance(self.schema, Map)
            and isinstance(self.schema.value, SortedMap)
            and self.schema.value.key_type is int
        ):
            raise SchemaError(
                f"PState {self.name}: a page cache needs a Map of SortedMap[int, ...], not {self.schema!r}"
            )


# --- validation ---------------------------------------------------------------------------------------


def describe(declared: object) -> str:
    """Render a declared key or value type the way error messages show it."""
    if declared is object or declared is Any:
        return "any"
    if isinstance(declared, tuple):
        return "tuple[" + ", ".join(describe(element) for element in declared) + "]"
    members = _union_members(declared)
    if members:
        return " | ".join(describe(member) for member in members)
    return "None" if declared is type(None) else getattr(declared, "__name__", repr(declared))


def key_check(declared: object) -> Check | None:
    """Return a predicate for keys of the `declared` type, or None when any encodable key will do."""
    if declared is object or declared is Any:
        return None
    if isinstance(declared, tuple):
        return _tuple_check(declared)
    members = _union_members(declared)
    if members:
        return _any_of([_required(key_check(member)) for member in members])
    if declared in _KEY_TYPES:
        return _type_check(declared)
    raise SchemaError(f"{describe(declared)} cannot be a key type: use one of {_names(_KEY_TYPES)}")


def value_check(declared: object) -> Check | None:
    """Return a predicate for values of the `declared` type, or None when any msgpack value will do."""
    if declared is object or declared is Any:
        return None
    members = _union_members(declared)
    if members:
        return _any_of([_required(value_check(member)) for member in members])
    if declared in _VALUE_TYPES:
        return _type_check(declared)
    if declared is tuple:
        raise SchemaError("tuple cannot be a value type: msgpack returns arrays as lists, declare list")
    raise SchemaError(f"{describe(declared)} cannot be a value type: use one of {_names(_VALUE_TYPES)}")


def key_guard(pstate: str, role: str, declared: object) -> Callable[[object], None]:
    """Return a function that raises `SchemaError` for a `role` key of `pstate` not of the declared type."""
    check = key_check(declared)
    if check is None:
        return _accept
    expected = describe(declared)
    exact = declared if isinstance(declared, type) else None  # the common case costs one identity test

    def guard(key: object) -> None:
        if type(key) is not exact and not check(key):
            raise SchemaError(f"PState {pstate}: {role} must be {expected}, got {type(key).__name__} {key!r}")

    return guard


def value_packer(pstate: str, role: str, declared: object) -> Callable[[object], bytes]:
    """Return a function that checks a `role` value of `pstate` against the declaration and packs it."""
    check = value_check(declared)
    expected = describe(declared)
    pack = msgpack.Packer(use_bin_type=True).pack

    def packer(value: object) -> bytes:
        if check is not None and not check(value):
            raise SchemaError(f"PState {pstate}: {role} must be {expected}, got {type(value).__name__}")
        try:
            return pack(value)
        except (TypeError, ValueError, OverflowError) as error:
            raise SchemaError(
                f"PState {pstate}: {role} must be {expected} and msgpack-encodable, got {type(value).__name__}: {error}"
            ) from None

    return packer


def unpack(raw: bytes) -> Any:
    """Decode a stored msgpack value."""
    return msgpack.unpackb(raw, strict_map_key=False)


def _accept(_: object) -> None:
    return None


def _required(check: Check | None) -> Check:
    return _any_value if check is None else check


def _any_value(_: object) -> bool:
    return True


def _type_check(declared: type) -> Check:
    if declared is int:
        return lambda value: type(value) is int or (isinstance(value, int) and not isinstance(value, bool))
    return lambda value: type(value) is declared or isinstance(value, declared)


def _tuple_check(declared: tuple[object, ...]) -> Check:
    elements = [_required(key_check(element)) for element in declared]

    def check(value: object) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) == len(elements)
            and all(element_check(element) for element_check, element in zip(elements, value, strict=True))
        )

    if tuple(declared) == (int, int):  # bucket and per-task keys, checked per row on bulk paths: inlined

        def int_pair(value: object) -> bool:
            return (type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int) or (
                check(value)
            )

        return int_pair
    return check


def _any_of(checks: list[Check]) -> Check:
    return lambda value: any(check(value) for check in checks)


def _union_members(declared: object) -> tuple[object, ...]:
    if isinstance(declared, types.UnionType) or typing.get_origin(declared) is typing.Union:
        return typing.get_args(declared)
    return ()


def _names(allowed: tuple[type, ...]) -> str:
    return ", ".join(describe(kind) for kind in allowed)
