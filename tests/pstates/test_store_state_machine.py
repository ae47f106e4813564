"""The RocksDB store checked against the memory model and a plain-Python reference, one step at a time.

Hypothesis drives one PState of every kind on two stores (RocksDB in a temporary directory, and the memory
model) with the same operations through transactions: open one (explicitly, or by writing), write, read
inside it, commit or abort, or crash (drop the open transaction uncommitted, close both stores, reopen them).
Every read must give the same answer on both stores and in the reference model (dicts); after every step
both stores hold byte-identical columns, readers of the stores see only committed state, and every whole
collection reads like the model through the open transaction.
"""

from __future__ import annotations

import copy
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pstates.memory_store import MemoryStore
from pstates.pstate import (
    CappedNewestFirstPState,
    LinkedSetPState,
    MapPState,
    SortedMapPState,
    SortedSetPState,
    bind,
)
from pstates.rocksdb_store import RocksDBStore
from pstates.schema import CappedNewestFirst, LinkedSet, Map, PStateSpec, SortedMap, SortedSet
from pstates.store import KVStore
from pstates.transaction import Transaction

CAP = 3
MAP = PStateSpec("$$map", Map(int, object))
SORTED_MAP = PStateSpec("$$sorted_map", Map(int, SortedMap(int, str)))
SORTED_SET = PStateSpec("$$sorted_set", Map(str, SortedSet(int)))
CAPPED = PStateSpec("$$capped", CappedNewestFirst(int, int, str, CAP))
LINKED = PStateSpec("$$linked", LinkedSet(int, str))
SPECS = [MAP, SORTED_MAP, SORTED_SET, CAPPED, LINKED]

# Small domains, so that keys collide, collections fill up and ranges cut through them.
OUTER = range(3)
outer = st.sampled_from(OUTER)
inner = st.integers(-3, 6)
NAMES = ["", "a", "a\x00", "b", "\x01"]  # the codec's escape bytes included
names = st.sampled_from(NAMES)
texts = st.text("xy", max_size=2)
values = st.none() | st.integers(-(2**40), 2**40) | texts | st.lists(st.integers(0, 9), max_size=2)
# A remove names an existing element `pick` times in 8 (when there is one), else the drawn one.
picks = st.integers(0, 7)
bounds = st.none() | st.integers(-4, 7)
limits = st.none() | st.integers(0, 4)
_store_names = itertools.count()


@dataclass
class Model:
    """What every PState should hold, in plain Python."""

    map: dict[int, Any] = field(default_factory=dict)
    sorted_map: dict[int, dict[int, str]] = field(default_factory=dict)
    sorted_set: dict[str, set[int]] = field(default_factory=dict)
    capped: dict[int, dict[int, str]] = field(default_factory=dict)
    linked: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class Side:
    """One store with its open transaction, if any, and its views."""

    store: KVStore
    txn: Transaction | None = None
    map: MapPState = field(init=False)
    sorted_map: SortedMapPState = field(init=False)
    sorted_set: SortedSetPState = field(init=False)
    capped: CappedNewestFirstPState = field(init=False)
    linked: LinkedSetPState = field(init=False)

    def __post_init__(self) -> None:
        self.bind()

    def bind(self) -> None:
        """Bind writable views to the open transaction, or read-only views to the store."""
        reader: KVStore | Transaction = self.txn if self.txn is not None else self.store
        views = [bind(spec, reader, self.txn) for spec in SPECS]
        self.map, self.sorted_map, self.sorted_set, self.capped, self.linked = views  # type: ignore[assignment]

    def dump(self) -> list[list[tuple[bytes, bytes]]]:
        """Every committed pair of every PState column."""
        return [list(self.store.range(self.store.column(spec.name))) for spec in SPECS]


def existing(drawn: Any, present: list[Any], pick: int) -> Any:
    """An element of `present` most of the time, so that removes mostly hit."""
    return present[pick % len(present)] if present and pick < 6 else drawn


def in_range(key: int, start: int | None, end: int | None) -> bool:
    return (start is None or key >= start) and (end is None or key < end)


def window(keys: list[Any], start: int | None, end: int | None, reverse: bool, limit: int | None) -> list[Any]:
    """The reference range: sorted keys within bounds, maybe reversed, maybe limited."""
    chosen = sorted((key for key in keys if in_range(key, start, end)), reverse=reverse)
    return chosen[:limit]


class StoresAgree(RuleBasedStateMachine):
    """RocksDB store == memory store == reference model, through transactions and crashes."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="tusk-pstates-")
        self.memory_name = f"state-machine-{next(_store_names)}"
        self.rocks = Side(RocksDBStore.open(self.directory))
        self.memory = Side(MemoryStore.open(self.memory_name))
        self.committed = Model()
        self.pending: Model | None = None
        self.alternate = itertools.cycle([False, True])

    @property
    def model(self) -> Model:
        return self.pending if self.pending is not None else self.committed

    def writing(self) -> Model:
        """The model of the open transaction, opening one if there is none (writes need no `begin` step)."""
        if self.pending is None:
            self.begin()
        assert self.pending is not None
        return self.pending

    def both(self, view: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `method` on the `view` of both sides; they must agree. Return the answer."""
        answers = [getattr(getattr(side, view), method)(*args, **kwargs) for side in (self.rocks, self.memory)]
        assert answers[0] == answers[1], (view, method, args, kwargs, answers)
        return answers[0]

    # --- transactions and crashes ---------------------------------------------------------------------

    @precondition(lambda self: self.pending is None)
    @rule()
    def begin(self) -> None:
        for side in (self.rocks, self.memory):
            side.txn = Transaction(side.store)
            side.bind()
        self.pending = copy.deepcopy(self.committed)

    @precondition(lambda self: self.pending is not None)
    @rule(sync=st.booleans())
    def commit(self, sync: bool) -> None:
        self._finish(lambda txn: txn.commit(sync=sync))
        assert self.pending is not None
        self.committed, self.pending = self.pending, None

    @precondition(lambda self: self.pending is not None)
    @rule()
    def abort(self) -> None:
        self._finish(Transaction.abort)
        self.pending = None

    @rule()
    def crash_and_reopen(self) -> None:
        for side in (self.rocks, self.memory):
            side.txn = None  # dropped, never committed
            side.store.close()
        self.rocks.store = RocksDBStore.open(self.directory)
        self.memory.store = MemoryStore.open(self.memory_name)
        for side in (self.rocks, self.memory):
            side.bind()
        self.pending = None

    def _finish(self, end: Any) -> None:
        for side in (self.rocks, self.memory):
            assert side.txn is not None
            end(side.txn)
            side.txn = None
            side.bind()

    # --- Map ----------------------------------------------------------------------------------------------

    @rule(key=outer, value=values)
    def map_put(self, key: int, value: Any) -> None:
        model = self.writing()
        self.both("map", "put", key, value)
        model.map[key] = value

    @rule(items=st.lists(st.tuples(outer, values), max_size=4))
    def map_put_many(self, items: list[tuple[int, Any]]) -> None:
        model = self.writing()
        self.both("map", "put_many", items)
        model.map.update(items)

    @rule(key=outer)
    def map_delete(self, key: int) -> None:
        model = self.writing()
        self.both("map", "delete", key)
        model.map.pop(key, None)

    @rule(keys=st.lists(outer, max_size=4))
    def map_reads(self, keys: list[int]) -> None:
        assert self.both("map", "multi_get", keys) == [self.model.map.get(key) for key in keys]
        for key in keys:
            assert self.both("map", "get", key, "absent") == self.model.map.get(key, "absent")
            assert self.both("map", "contains", key) == (key in self.model.map)

    @rule(start=bounds, end=bounds, reverse=st.booleans(), limit=limits)
    def map_range(self, start: int | None, end: int | None, reverse: bool, limit: int | None) -> None:
        expected = [(key, self.model.map[key]) for key in window(list(self.model.map), start, end, reverse, limit)]
        assert self.both("map", "range", start, end, reverse=reverse, limit=limit) == expected

    # --- SortedMap ------------------------------------------------------------------------------------

    @rule(key=outer, entries=st.lists(st.tuples(inner, texts), min_size=1, max_size=4))
    def sorted_map_put(self, key: int, entries: list[tuple[int, str]]) -> None:
        model = self.writing()
        for sub, value in entries:
            self.both("sorted_map", "put", key, sub, value)
            model.sorted_map.setdefault(key, {})[sub] = value

    @rule(key=outer, sub=inner, pick=picks)
    def sorted_map_remove(self, key: int, sub: int, pick: int) -> None:
        model = self.writing()
        entries = model.sorted_map.get(key, {})
        sub = existing(sub, sorted(entries), pick)
        assert self.both("sorted_map", "remove", key, sub) == (entries.pop(sub, None) is not None)

    @rule(key=outer)
    def sorted_map_delete(self, key: int) -> None:
        model = self.writing()
        self.both("sorted_map", "delete", key)
        model.sorted_map.pop(key, None)

    @rule(key=outer, sub=inner, start=bounds, end=bounds, reverse=st.booleans(), limit=limits)
    def sorted_map_reads(
        self, key: int, sub: int, start: int | None, end: int | None, reverse: bool, limit: int | None
    ) -> None:
        entries = self.model.sorted_map.get(key, {})
        assert self.both("sorted_map", "size", key) == len(entries)
        assert self.both("sorted_map", "get", key, sub) == entries.get(sub)
        assert self.both("sorted_map", "contains", key, sub) == (sub in entries)
        expected = [(s, entries[s]) for s in window(list(entries), start, end, reverse, limit)]
        assert self.both("sorted_map", "range", key, start, end, reverse=reverse, limit=limit) == expected

    # --- SortedSet ------------------------------------------------------------------------------------

    @rule(key=names, added=st.lists(inner, min_size=1, max_size=4))
    def sorted_set_add(self, key: str, added: list[int]) -> None:
        model = self.writing()
        members = model.sorted_set.setdefault(key, set())
        for member in added:
            assert self.both("sorted_set", "add", key, member) == (member not in members)
            members.add(member)

    @rule(key=names, member=inner, pick=picks)
    def sorted_set_remove(self, key: str, member: int, pick: int) -> None:
        model = self.writing()
        members = model.sorted_set.get(key, set())
        member = existing(member, sorted(members), pick)
        assert self.both("sorted_set", "remove", key, member) == (member in members)
        members.discard(member)

    @rule(key=names)
    def sorted_set_delete(self, key: str) -> None:
        model = self.writing()
        self.both("sorted_set", "delete", key)
        model.sorted_set.pop(key, None)

    @rule(key=names, member=inner, start=bounds, end=bounds, reverse=st.booleans(), limit=limits)
    def sorted_set_reads(
        self, key: str, member: int, start: int | None, end: int | None, reverse: bool, limit: int | None
    ) -> None:
        members = self.model.sorted_set.get(key, set())
        assert self.both("sorted_set", "size", key) == len(members)
        assert self.both("sorted_set", "contains", key, member) == (member in members)
        expected = window(list(members), start, end, reverse, limit)
        assert self.both("sorted_set", "range", key, start, end, reverse=reverse, limit=limit) == expected

    # --- CappedNewestFirst ---------------------------------------------------------------------------

    @rule(key=outer, added=st.lists(st.tuples(inner, texts), min_size=1, max_size=4))
    def capped_add(self, key: int, added: list[tuple[int, str]]) -> None:
        model = self.writing()
        items = model.capped.setdefault(key, {})
        for item, value in added:
            self.both("capped", "add", key, item, value)
            items[item] = value
            while len(items) > CAP:
                del items[min(items)]

    @rule(key=outer, item=inner, pick=picks)
    def capped_remove(self, key: int, item: int, pick: int) -> None:
        model = self.writing()
        items = model.capped.get(key, {})
        item = existing(item, sorted(items), pick)
        assert self.both("capped", "remove", key, item) == (items.pop(item, None) is not None)

    @rule(key=outer)
    def capped_delete(self, key: int) -> None:
        model = self.writing()
        self.both("capped", "delete", key)
        model.capped.pop(key, None)

    @rule(key=outer, item=inner, before=bounds, limit=limits)
    def capped_reads(self, key: int, item: int, before: int | None, limit: int | None) -> None:
        items = self.model.capped.get(key, {})
        assert self.both("capped", "size", key) == len(items)
        assert self.both("capped", "get", key, item) == items.get(item)
        expected = [(i, items[i]) for i in window(list(items), None, before, True, limit)]
        assert self.both("capped", "newest", key, limit=limit, before=before) == expected

    # --- LinkedSet -------------------------------------------------------------------------------------

    @rule(key=outer, added=st.lists(names, min_size=1, max_size=4))
    def linked_add(self, key: int, added: list[str]) -> None:
        model = self.writing()
        members = model.linked.setdefault(key, [])
        for member in added:
            assert self.both("linked", "add", key, member) == (member not in members)
            if member not in members:
                members.append(member)

    @rule(key=outer, member=names, pick=picks)
    def linked_remove(self, key: int, member: str, pick: int) -> None:
        model = self.writing()
        members = model.linked.get(key, [])
        member = existing(member, members, pick)
        assert self.both("linked", "remove", key, member) == (member in members)
        if member in members:
            members.remove(member)

    @rule(key=outer)
    def linked_delete(self, key: int) -> None:
        model = self.writing()
        self.both("linked", "delete", key)
        model.linked.pop(key, None)

    @rule(key=outer, member=names, reverse=st.booleans(), limit=limits)
    def linked_reads(self, key: int, member: str, reverse: bool, limit: int | None) -> None:
        members = self.model.linked.get(key, [])
        assert self.both("linked", "size", key) == len(members)
        assert self.both("linked", "contains", key, member) == (member in members)
        expected = (members[::-1] if reverse else members)[:limit]
        assert self.both("linked", "members", key, limit=limit, reverse=reverse) == expected

    # --- invariants -------------------------------------------------------------------------------------

    @invariant()
    def committed_columns_are_byte_identical(self) -> None:
        assert self.rocks.dump() == self.memory.dump()

    @invariant()
    def committed_state_matches_the_model(self) -> None:
        # Read-only views over the stores see only committed writes, even while a transaction is open.
        for side in (self.rocks, self.memory):
            assert MapPState(MAP, side.store).range() == sorted(self.committed.map.items())
            sizes = SortedSetPState(SORTED_SET, side.store)
            assert all(sizes.size(key) == len(members) for key, members in self.committed.sorted_set.items())

    @invariant()
    def every_collection_reads_like_the_model(self) -> None:
        # Whole collections through the open transaction if any, alternately in each direction: catches
        # what a random window would need luck to hit (a committed key shadowed by a buffered write).
        model, reverse = self.model, next(self.alternate)
        assert self.both("map", "range", reverse=reverse) == sorted(model.map.items(), reverse=reverse)
        for key in OUTER:
            entries = sorted(model.sorted_map.get(key, {}).items(), reverse=reverse)
            assert self.both("sorted_map", "size", key) == len(entries)
            assert self.both("capped", "size", key) == len(model.capped.get(key, {}))
            assert self.both("linked", "size", key) == len(model.linked.get(key, []))
            assert self.both("sorted_map", "range", key, reverse=reverse) == entries
            assert self.both("capped", "newest", key) == sorted(model.capped.get(key, {}).items(), reverse=True)
            members = model.linked.get(key, [])
            assert self.both("linked", "members", key, reverse=reverse) == (members[::-1] if reverse else members)
        for name in NAMES:
            members_set = sorted(model.sorted_set.get(name, set()), reverse=reverse)
            assert self.both("sorted_set", "size", name) == len(members_set)
            assert self.both("sorted_set", "range", name, reverse=reverse) == members_set

    def teardown(self) -> None:
        for side in (self.rocks, self.memory):
            side.txn = None
            side.store.close()
        MemoryStore.forget(self.memory_name)
        shutil.rmtree(self.directory, ignore_errors=True)


StoresAgree.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestStoresAgree = StoresAgree.TestCase
