"""`SortedMapPState.put_int_rows`: columns of int-sub rows write what `put_many` of the same rows writes."""

from __future__ import annotations

import numpy as np
import pytest

from pstates.errors import SchemaError
from pstates.int_rows import IntRows, element_keys, int_encodings
from pstates.keycodec import Key, encode_key
from pstates.pstate import SortedMapPState, bind
from pstates.schema import ELEMENTS, Map, PStateSpec, SortedMap
from pstates.store import KVStore
from pstates.transaction import Transaction

EXTREMES = [-(2**63), -1, 0, 1, 255, 256, 2**63 - 1]


def view_of(spec: PStateSpec, txn: Transaction) -> SortedMapPState:
    view = bind(spec, txn, txn)
    assert isinstance(view, SortedMapPState)
    return view


def writes(txn: Transaction) -> list[tuple[bytes, bytes | None]]:
    return sorted((key, value) for _, _, key, value in txn.operations())


def columns(rows: list[tuple[Key, int, object]]) -> IntRows:
    keys = list(dict.fromkeys(key for key, _, _ in rows))
    values = [value for _, _, value in rows]
    return IntRows(
        keys,
        np.array([keys.index(key) for key, _, _ in rows], dtype=np.int64),
        np.array([sub for _, sub, _ in rows], dtype=np.int64),
        values,
        np.arange(len(rows), dtype=np.int64),
    )


@pytest.mark.parametrize(
    "key_type, keys",
    [(int, [3, -4, 2**62]), ((int, int), [(1, 0), (1, 7), (9, 3)]), (str, ["a", "bcd", ""])],
)
def test_put_int_rows_writes_what_put_many_writes(store: KVStore, key_type: object, keys: list[Key]) -> None:
    spec = PStateSpec("$$rows", Map(key_type, SortedMap(int, dict)))
    seed = Transaction(store)
    view_of(spec, seed).put(keys[0], 1, {"kept": False})  # an existing element: overwritten, not counted
    seed.commit()
    rows: list[tuple[Key, int, object]] = [(keys[i % 3], sub, {"n": i}) for i, sub in enumerate(EXTREMES * 2)]
    rows.append((keys[0], 1, {"kept": True}))
    bulk, loop = Transaction(store), Transaction(store)
    view_of(spec, bulk).put_int_rows(columns(rows))
    view_of(spec, loop).put_many(rows)
    assert writes(bulk) == writes(loop)
    assert view_of(spec, bulk).sizes(keys) == view_of(spec, loop).sizes(keys)


def test_known_new_rows_count_without_reading_them(store: KVStore) -> None:
    spec = PStateSpec("$$followers", Map(int, SortedMap(int, int)))
    txn = Transaction(store)
    view = view_of(spec, txn)
    view.put(5, 100, 0)
    rows = IntRows([5, 6], np.array([0, 0, 1]), np.array([101, 102, 100]), [0, 1], np.array([1, 0, 1]))
    view.put_int_rows(rows, known_new=True)
    assert view.sizes([5, 6]) == [3, 1]
    assert view.range(5) == [(100, 0), (101, 1), (102, 0)]
    assert view.range(6) == [(100, 1)]


def test_put_int_rows_refuses_a_bad_key_and_writes_nothing(store: KVStore) -> None:
    spec = PStateSpec("$$followers", Map(int, SortedMap(int, int)))
    txn = Transaction(store)
    with pytest.raises(SchemaError, match="key must be"):
        view_of(spec, txn).put_int_rows(IntRows([1, "2"], np.array([0, 1]), np.array([3, 4]), [0], np.array([0, 0])))
    assert txn.is_empty
    not_int_subs = PStateSpec("$$notes", Map(int, SortedMap(str, int)))
    with pytest.raises(SchemaError, match="int subs"):
        view_of(not_int_subs, txn).put_int_rows(IntRows([1], np.array([0]), np.array([3]), [0], np.array([0])))


def test_element_keys_are_the_keycodec_encodings() -> None:
    subs = np.array(EXTREMES, dtype=np.int64)
    assert int_encodings(subs) == [encode_key(s) for s in EXTREMES]
    outers = [encode_key(7), encode_key(-7)]
    picks = np.array([i % 2 for i in range(len(EXTREMES))])
    expected = [outers[k] + ELEMENTS + encode_key(s) for k, s in zip(picks.tolist(), EXTREMES, strict=True)]
    assert element_keys(outers, picks, subs) == expected
    assert element_keys([encode_key("x"), encode_key("yy")], picks, subs)[1] == encode_key(
        "yy"
    ) + ELEMENTS + encode_key(-1)
