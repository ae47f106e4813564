"""PState views: every operation and every refusal, on every backend."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from pstates.errors import KeyEncodingError, PStateWriteError, SchemaError
from pstates.pstate import (
    CappedNewestFirstPState,
    LinkedSetPState,
    MapPState,
    PStateView,
    SortedMapPState,
    SortedSetPState,
    bind,
)
from pstates.schema import CappedNewestFirst, LinkedSet, Map, PStateSpec, SortedMap, SortedSet
from pstates.store import KVStore
from pstates.transaction import Transaction

NAMES = PStateSpec("$$names", Map(int, str))
PROFILES = PStateSpec("$$profiles", Map(str, object))
SCORES = PStateSpec("$$scores", Map(int, SortedMap(int, str)))
FOLLOWERS = PStateSpec("$$followers", Map(int, SortedSet(int)))
TIMELINE = PStateSpec("$$timeline", CappedNewestFirst(int, int, str, 3))
FAVOURITES = PStateSpec("$$favourites", LinkedSet(int, str))

V = TypeVar("V", bound=PStateView)


def writable(store: KVStore, spec: PStateSpec, kind: type[V]) -> tuple[Transaction, V]:
    txn = Transaction(store)
    view = bind(spec, txn, txn)
    assert isinstance(view, kind)
    return txn, view


def read_only(store: KVStore, spec: PStateSpec, kind: type[V]) -> V:
    view = bind(spec, store)
    assert isinstance(view, kind)
    return view


def test_bind_picks_the_view_for_the_schema(store: KVStore) -> None:
    kinds = {NAMES: MapPState, SCORES: SortedMapPState, FOLLOWERS: SortedSetPState}
    kinds |= {TIMELINE: CappedNewestFirstPState, FAVOURITES: LinkedSetPState}
    for spec, kind in kinds.items():
        view = bind(spec, store)
        assert type(view) is kind
        assert view.name == spec.name
        assert not view.writable
        assert repr(view) == f"{kind.__name__}({spec.name!r}, read-only)"


def test_a_view_refuses_a_schema_of_another_kind(store: KVStore) -> None:
    with pytest.raises(SchemaError, match="not a Map with plain values"):
        MapPState(SCORES, store)
    with pytest.raises(SchemaError, match="not a Map of SortedSet"):
        SortedSetPState(SCORES, store)
    with pytest.raises(SchemaError, match="not a LinkedSet"):
        LinkedSetPState(TIMELINE, store)


def test_a_writable_view_reads_through_its_own_transaction(store: KVStore) -> None:
    with pytest.raises(ValueError, match="read through its own transaction"):
        bind(NAMES, store, Transaction(store))


# --- Map ---------------------------------------------------------------------------------------------------


def test_map_operations(store: KVStore) -> None:
    txn, names = writable(store, NAMES, MapPState)
    names.put(2, "bob")
    names.put_many([(1, "alice"), (3, "carol"), (-7, "neg")])
    names.delete(3)
    names.delete(99)
    assert names.get(1) == "alice"
    assert names.get(3) is None
    assert names.get(4, "nobody") == "nobody"
    assert names.multi_get([2, 3, 1]) == ["bob", None, "alice"]
    assert names.contains(2) and not names.contains(3)
    assert names.range() == [(-7, "neg"), (1, "alice"), (2, "bob")]
    assert names.range(0, 2) == [(1, "alice")]
    assert names.range(reverse=True, limit=2) == [(2, "bob"), (1, "alice")]
    assert names.range(start=1, reverse=True) == [(2, "bob"), (1, "alice")]
    committed = read_only(store, NAMES, MapPState)
    assert committed.get(1) is None
    txn.commit()
    assert committed.get(1) == "alice"
    assert committed.range(end=2) == [(-7, "neg"), (1, "alice")]


def test_map_values_roundtrip_through_msgpack(store: KVStore) -> None:
    txn, profiles = writable(store, PROFILES, MapPState)
    value = {"name": "a", "ids": [1, 2], "bio": None, "raw": b"\x00", 7: 1.5, "pair": (1, 2)}
    profiles.put("a", value)
    txn.commit()
    assert read_only(store, PROFILES, MapPState).get("a") == value | {"pair": [1, 2]}  # arrays come back as lists


def test_map_tuple_keys(store: KVStore) -> None:
    spec = PStateSpec("$$pairs", Map((int, str), int))
    _, pairs = writable(store, spec, MapPState)
    pairs.put_many([((1, "b"), 1), ((1, "a"), 2), ((0, "z"), 3)])
    assert pairs.range() == [((0, "z"), 3), ((1, "a"), 2), ((1, "b"), 1)]
    with pytest.raises(SchemaError, match=r"key must be tuple\[int, str\], got tuple"):
        pairs.put((1, 2), 0)


# --- SortedMap -------------------------------------------------------------------------------------------


def test_sorted_map_operations(store: KVStore) -> None:
    txn, scores = writable(store, SCORES, SortedMapPState)
    for sub in (5, -1, 3, 9):
        scores.put(1, sub, f"s{sub}")
    scores.put(1, 3, "overwritten")
    scores.put(2, 0, "other key")
    assert scores.remove(1, 9) is True
    assert scores.remove(1, 42) is False
    assert scores.size(1) == 3
    assert scores.size(2) == 1
    assert scores.size(3) == 0
    assert scores.get(1, 3) == "overwritten"
    assert scores.get(1, 9, "gone") == "gone"
    assert scores.contains(1, 5) and not scores.contains(2, 5)
    assert scores.range(1) == [(-1, "s-1"), (3, "overwritten"), (5, "s5")]
    assert scores.range(1, 0, 5) == [(3, "overwritten")]
    assert scores.range(1, reverse=True, limit=2) == [(5, "s5"), (3, "overwritten")]
    assert scores.range(1, end=3, reverse=True) == [(-1, "s-1")]
    txn.commit()
    txn, scores = writable(store, SCORES, SortedMapPState)
    scores.delete(1)
    assert scores.size(1) == 0 and scores.range(1) == []
    scores.put(1, 4, "after delete")
    assert scores.size(1) == 1
    txn.commit()
    committed = read_only(store, SCORES, SortedMapPState)
    assert committed.range(1) == [(4, "after delete")]
    assert committed.range(2) == [(0, "other key")]


# --- SortedSet -------------------------------------------------------------------------------------------


def test_sorted_set_operations(store: KVStore) -> None:
    txn, followers = writable(store, FOLLOWERS, SortedSetPState)
    assert [followers.add(10, m) for m in (3, 1, 2, 3)] == [True, True, True, False]
    assert followers.remove(10, 2) is True
    assert followers.remove(10, 2) is False
    assert followers.size(10) == 2
    assert followers.contains(10, 3) and not followers.contains(10, 2)
    assert followers.range(10) == [1, 3]
    assert followers.range(10, reverse=True, limit=1) == [3]
    assert followers.range(10, start=2) == [3]
    txn.commit()
    txn, followers = writable(store, FOLLOWERS, SortedSetPState)
    followers.remove(10, 1)
    followers.remove(10, 3)
    txn.commit()
    assert read_only(store, FOLLOWERS, SortedSetPState).size(10) == 0
    assert list(store.range(store.column("$$followers"))) == []  # an empty set leaves no key behind


# --- CappedNewestFirst ------------------------------------------------------------------------------------


def test_capped_keeps_the_newest_items(store: KVStore) -> None:
    txn, timeline = writable(store, TIMELINE, CappedNewestFirstPState)
    for item in (10, 30, 20, 40):
        timeline.add(1, item, f"status {item}")
    assert timeline.size(1) == 3
    assert timeline.newest(1) == [(40, "status 40"), (30, "status 30"), (20, "status 20")]
    timeline.add(1, 5, "too old to keep")
    timeline.add(1, 30, "edited")
    assert timeline.size(1) == 3
    assert timeline.newest(1, limit=2) == [(40, "status 40"), (30, "edited")]
    assert timeline.newest(1, before=40) == [(30, "edited"), (20, "status 20")]
    assert timeline.newest(1, limit=1, before=30) == [(20, "status 20")]
    assert timeline.get(1, 20) == "status 20"
    assert timeline.get(1, 10, "trimmed") == "trimmed"
    assert timeline.remove(1, 40) is True
    assert timeline.remove(1, 40) is False
    assert timeline.size(1) == 2
    txn.commit()
    committed = read_only(store, TIMELINE, CappedNewestFirstPState)
    assert committed.cap == 3
    assert committed.newest(1) == [(30, "edited"), (20, "status 20")]
    txn, timeline = writable(store, TIMELINE, CappedNewestFirstPState)
    timeline.delete(1)
    txn.commit()
    assert committed.newest(1) == [] and committed.size(1) == 0


# --- LinkedSet --------------------------------------------------------------------------------------------


def test_linked_set_remembers_insertion_order(store: KVStore) -> None:
    txn, favourites = writable(store, FAVOURITES, LinkedSetPState)
    assert [favourites.add(1, m) for m in ("c", "a", "b", "a")] == [True, True, True, False]
    assert favourites.members(1) == ["c", "a", "b"]
    assert favourites.members(1, reverse=True, limit=2) == ["b", "a"]
    assert favourites.remove(1, "a") is True
    assert favourites.remove(1, "a") is False
    favourites.add(1, "a")
    assert favourites.members(1) == ["c", "b", "a"]
    assert favourites.size(1) == 3
    assert favourites.contains(1, "b") and not favourites.contains(2, "b")
    txn.commit()
    committed = read_only(store, FAVOURITES, LinkedSetPState)
    assert committed.members(1, limit=2) == ["c", "b"]
    txn, favourites = writable(store, FAVOURITES, LinkedSetPState)
    favourites.delete(1)
    favourites.add(1, "z")
    txn.commit()
    assert committed.members(1) == ["z"] and committed.size(1) == 1


# --- refusals ---------------------------------------------------------------------------------------------

WRITES: list[tuple[PStateSpec, Callable[[Any], object]]] = [
    (NAMES, lambda v: v.put(1, "x")),
    (NAMES, lambda v: v.put_many([(1, "x")])),
    (NAMES, lambda v: v.delete(1)),
    (SCORES, lambda v: v.put(1, 1, "x")),
    (SCORES, lambda v: v.remove(1, 1)),
    (SCORES, lambda v: v.delete(1)),
    (FOLLOWERS, lambda v: v.add(1, 1)),
    (FOLLOWERS, lambda v: v.remove(1, 1)),
    (FOLLOWERS, lambda v: v.delete(1)),
    (TIMELINE, lambda v: v.add(1, 1, "x")),
    (TIMELINE, lambda v: v.remove(1, 1)),
    (TIMELINE, lambda v: v.delete(1)),
    (FAVOURITES, lambda v: v.add(1, "x")),
    (FAVOURITES, lambda v: v.remove(1, "x")),
    (FAVOURITES, lambda v: v.delete(1)),
]


@pytest.mark.parametrize(("spec", "write"), WRITES)
def test_read_only_views_refuse_every_write(store: KVStore, spec: PStateSpec, write: Callable[[Any], object]) -> None:
    with pytest.raises(
        PStateWriteError, match=re.escape(f"PState {spec.name} can only be written by its owning topology")
    ):
        write(bind(spec, store))
    txn = Transaction(store)
    with pytest.raises(PStateWriteError):
        write(bind(spec, txn))  # reading through a transaction does not make a view writable


@pytest.mark.parametrize(
    ("spec", "write", "message"),
    [
        (NAMES, lambda v: v.put("1", "x"), r"\$\$names: key must be int, got str"),
        (NAMES, lambda v: v.put(True, "x"), r"\$\$names: key must be int, got bool"),
        (NAMES, lambda v: v.put(1, 1), r"\$\$names: value must be str, got int"),
        (NAMES, lambda v: v.put_many([(1, "x"), (2, b"x")]), r"value must be str, got bytes"),
        (NAMES, lambda v: v.delete("1"), r"key must be int, got str"),
        (
            PROFILES,
            lambda v: v.put("a", {1, 2}),
            r"\$\$profiles: value must be any and msgpack-encodable, got set",
        ),
        (SCORES, lambda v: v.put(1, "1", "x"), r"\$\$scores: sorted map key must be int, got str"),
        (SCORES, lambda v: v.put(1, 1, 1), r"value must be str, got int"),
        (FOLLOWERS, lambda v: v.add(1, 1.0), r"\$\$followers: member must be int, got float"),
        (TIMELINE, lambda v: v.add(1, "1", "x"), r"item key must be int, got str"),
        (TIMELINE, lambda v: v.add(1, 1, None), r"value must be str, got NoneType"),
        (FAVOURITES, lambda v: v.add(1, 2), r"\$\$favourites: member must be str, got int"),
        (FAVOURITES, lambda v: v.remove(None, "x"), r"key must be int, got NoneType"),
    ],
)
def test_schema_violating_writes_are_refused(
    store: KVStore, spec: PStateSpec, write: Callable[[Any], object], message: str
) -> None:
    txn = Transaction(store)
    with pytest.raises(SchemaError, match=message):
        write(bind(spec, txn, txn))


@pytest.mark.parametrize(
    ("spec", "use"),
    [
        (NAMES, lambda v: v.put(2**64, "x")),
        (NAMES, lambda v: v.get(2**64)),
        (PROFILES, lambda v: v.get(["a"])),
        (PROFILES, lambda v: v.range(start=["a"])),
        (SCORES, lambda v: v.get(1, 2**63)),
        (FOLLOWERS, lambda v: v.contains(1, float("nan"))),
        (FAVOURITES, lambda v: v.members([1])),
    ],
)
def test_keys_the_codec_rejects(store: KVStore, spec: PStateSpec, use: Callable[[Any], object]) -> None:
    txn = Transaction(store)
    with pytest.raises(KeyEncodingError):
        use(bind(spec, txn, txn))


def test_missing_keys_read_as_defaults(store: KVStore) -> None:
    assert read_only(store, NAMES, MapPState).get(1) is None
    assert read_only(store, NAMES, MapPState).multi_get([1], default="?") == ["?"]
    assert read_only(store, SCORES, SortedMapPState).get(1, 1, 0) == 0
    assert read_only(store, FOLLOWERS, SortedSetPState).range(1) == []
    assert read_only(store, TIMELINE, CappedNewestFirstPState).newest(1) == []
    assert read_only(store, FAVOURITES, LinkedSetPState).members(1) == []
    assert read_only(store, FAVOURITES, LinkedSetPState).size(1) == 0


def test_a_failed_write_leaves_the_transaction_unchanged(store: KVStore) -> None:
    txn, names = writable(store, NAMES, MapPState)
    with pytest.raises(SchemaError):
        names.put_many([(1, "ok"), (2, 2)])
    assert len(txn) == 0  # put_many is all or nothing
    with pytest.raises(SchemaError):
        names.put(3, 3)
    assert len(txn) == 0
