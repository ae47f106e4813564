"""The page cache of int pages: served from committed state only, dropped by the store's own writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pstates.page_cache import IntPage, PageCache, encode_values, outer_of
from pstates.pstate import SortedMapPState, bind
from pstates.schema import Map, PStateSpec, SortedMap
from pstates.store import KVStore
from pstates.transaction import Transaction
from tests.pstates.conftest import StoreOpener

BUCKETS = PStateSpec("$$buckets", Map((int, int), SortedMap(int, dict)), page_cache=True)
KEY = (7, 1)
DEFAULTS = {"reblogs": True, "languages": None}
GERMAN = {"reblogs": True, "languages": ["de"]}


def committed(store: KVStore, cache: PageCache) -> SortedMapPState:
    store.watch_column(BUCKETS.name, cache)
    view = bind(BUCKETS, store)
    assert isinstance(view, SortedMapPState)
    return view


def writer(txn: Transaction) -> SortedMapPState:
    view = bind(BUCKETS, txn, txn)
    assert isinstance(view, SortedMapPState)
    return view


def write(store: KVStore, puts: Sequence[tuple[int, dict[str, Any]]] = (), removes: Sequence[int] = ()) -> None:
    txn = Transaction(store)
    view = writer(txn)
    for follower, options in puts:
        view.put(KEY, follower, options)
    for follower in removes:
        view.remove(KEY, follower)
    txn.commit()


def rows(page: IntPage) -> list[tuple[int, Any]]:
    return [(int(i), msgpack.unpackb(page.values[c])) for i, c in zip(page.ids, page.codes, strict=True)]


def test_a_page_comes_from_the_cache_until_a_write_to_its_key(store: KVStore) -> None:
    cache = PageCache()
    view = committed(store, cache)
    write(store, [(f, DEFAULTS) for f in range(10)])
    assert rows(view.int_page(KEY, 3, 2)) == [(3, DEFAULTS), (4, DEFAULTS)]
    assert rows(view.int_page(KEY, 8)) == [(8, DEFAULTS), (9, DEFAULTS)]
    assert (cache.misses, cache.hits, len(cache)) == (1, 1, 1)
    write(store, [(20, GERMAN)], removes=[3])
    assert rows(view.int_page(KEY, 3, 2)) == [(4, DEFAULTS), (5, DEFAULTS)]
    assert rows(view.int_page(KEY, 9)) == [(9, DEFAULTS), (20, GERMAN)]
    assert view.int_page(KEY).values == (msgpack.packb(DEFAULTS), msgpack.packb(GERMAN))
    assert cache.misses == 2


def test_writes_to_other_keys_keep_the_page(store: KVStore) -> None:
    cache = PageCache()
    view = committed(store, cache)
    write(store, [(1, DEFAULTS)])
    view.int_page(KEY)
    txn = Transaction(store)
    other = writer(txn)
    other.put((7, 2), 5, DEFAULTS)
    other.put((8, 1), 5, DEFAULTS)
    txn.commit()
    view.int_page(KEY)
    assert (cache.misses, cache.hits) == (1, 1)


def test_uncommitted_and_aborted_writes_never_show(store: KVStore) -> None:
    cache = PageCache()
    view = committed(store, cache)
    write(store, [(1, DEFAULTS)])
    txn = Transaction(store)
    uncommitted = writer(txn)
    uncommitted.put(KEY, 2, DEFAULTS)
    uncommitted.remove(KEY, 1)
    assert uncommitted.int_page(KEY).ids.tolist() == [2]  # the writer sees its own writes, never through the cache
    assert view.int_page(KEY).ids.tolist() == [1]
    txn.abort()
    assert view.int_page(KEY).ids.tolist() == [1]
    assert len(cache) == 1
    write(store, [(2, DEFAULTS)])
    assert view.int_page(KEY).ids.tolist() == [1, 2]


def test_deleting_the_whole_collection_drops_its_page(store: KVStore) -> None:
    cache = PageCache()
    view = committed(store, cache)
    write(store, [(1, DEFAULTS), (2, DEFAULTS)])
    assert len(view.int_page(KEY)) == 2
    txn = Transaction(store)
    writer(txn).delete(KEY)  # a range delete of the collection
    txn.commit()
    assert len(view.int_page(KEY)) == 0


def test_a_raw_batch_of_another_writer_invalidates_too(store: KVStore) -> None:
    """A changelog restore or redo writes store batches directly, not through a transaction."""
    cache = PageCache()
    view = committed(store, cache)
    write(store, [(1, DEFAULTS)])
    view.int_page(KEY)
    txn = Transaction(store)
    writer(txn).put(KEY, 2, GERMAN)
    batch = store.new_batch()
    for column, kind, key, value in txn.operations():
        assert kind == "put" and value is not None
        batch.put(column, key, value)
    store.write(batch)
    assert rows(view.int_page(KEY)) == [(1, DEFAULTS), (2, GERMAN)]


def test_a_fill_that_raced_a_write_is_not_kept(store: KVStore) -> None:
    cache = PageCache()
    watch = store.watch_column(BUCKETS.name, cache)
    assert watch is not None
    generation = watch.generation  # a reader on another thread starts reading...
    write(store, [(1, DEFAULTS)])  # ... a write lands meanwhile ...
    stale = IntPage(np.empty(0, dtype=np.int64), *encode_values([]))
    watch.fill(b"\x30\x10", stale, generation)  # ... its (maybe stale) page is refused
    assert len(cache) == 0


def test_eviction_keeps_the_budget_and_pages_right(store: KVStore) -> None:
    cache = PageCache(budget_bytes=5_000)  # a few of these buckets (~970 bytes each) at most
    view = committed(store, cache)
    txn = Transaction(store)
    many = writer(txn)
    for followee in range(20):
        for follower in range(followee, followee + 30):
            many.put((followee, 0), follower, DEFAULTS if follower % 3 else GERMAN)
    txn.commit()
    for _ in range(3):
        for followee in range(20):
            page = view.int_page((followee, 0), followee + 5, 10)
            assert page.ids.tolist() == list(range(followee + 5, followee + 15))
            assert [msgpack.unpackb(page.values[c]) for c in page.codes][:3] == [
                DEFAULTS if f % 3 else GERMAN for f in range(followee + 5, followee + 8)
            ]
            assert cache.used_bytes <= cache.budget_bytes
    assert 0 < len(cache) < 20


def test_a_collection_over_a_quarter_of_the_budget_is_read_not_kept(store: KVStore) -> None:
    cache = PageCache(budget_bytes=1_000)
    view = committed(store, cache)
    write(store, [(f, DEFAULTS) for f in range(200)])
    assert view.int_page(KEY, 150, 3).ids.tolist() == [150, 151, 152]
    assert len(cache) == 0


def test_closing_the_store_drops_its_pages(open_store: StoreOpener) -> None:
    cache = PageCache()
    store = open_store()
    view = committed(store, cache)
    write(store, [(1, DEFAULTS)])
    view.int_page(KEY)
    assert len(cache) == 1
    store.close()
    assert len(cache) == 0 and cache.used_bytes == 0
    reopened = open_store()
    write(reopened, [(2, DEFAULTS)])
    assert committed(reopened, cache).int_page(KEY).ids.tolist() == [1, 2]


def test_outer_of_finds_the_top_level_key() -> None:
    from pstates.keycodec import encode_key
    from pstates.schema import ELEMENTS

    for key in (5, (5, 3), "a", ("x", (1, 2))):
        outer = encode_key(key)
        assert outer_of(outer) == outer
        assert outer_of(outer + ELEMENTS + encode_key(99)) == outer


OPS = st.lists(
    st.tuples(st.sampled_from(["follow", "unfollow", "read", "drop"]), st.integers(0, 3), st.integers(0, 40)),
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, budget=st.sampled_from([4_000, 8_000, 1 << 20]))
def test_cached_reads_equal_uncached_reads(
    open_store: StoreOpener, ops: list[tuple[str, int, int]], budget: int
) -> None:
    store = open_store()
    try:
        cache = PageCache(budget)
        view = committed(store, cache)
        for op, followee, n in ops:
            if op == "read":
                check_read(view, (followee, 0), (n % 7) * 5 or None, n % 9 or None)
            else:
                apply(store, op, (followee, 0), n)
        assert cache.used_bytes <= budget
    finally:
        store.close()


def check_read(view: SortedMapPState, key: tuple[int, int], start: int | None, limit: int | None) -> None:
    cached = view.int_page(key, start, limit)
    ids, raws = view.int_range_raw(key, start, limit)  # straight from the store
    assert cached.ids.tolist() == ids.tolist()
    assert [cached.values[c] for c in cached.codes] == raws


def apply(store: KVStore, op: str, key: tuple[int, int], n: int) -> None:
    """A follow, unfollow or whole-bucket delete of `n`, committed, or aborted when `n % 5 == 0`."""
    txn = Transaction(store)
    if op == "follow":
        writer(txn).put(key, n, GERMAN if n % 4 == 0 else DEFAULTS)
    elif op == "unfollow":
        writer(txn).remove(key, n)
    else:
        writer(txn).delete(key)
    if n % 5 == 0:
        txn.abort()
    else:
        txn.commit()
