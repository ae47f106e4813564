"""Schema declarations and the checks they compile to."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from pstates.errors import SchemaError
from pstates.schema import (
    CappedNewestFirst,
    LinkedSet,
    Map,
    PStateSpec,
    SortedMap,
    SortedSet,
    describe,
    key_guard,
    value_packer,
)


def test_declarations_are_frozen_values() -> None:
    spec = PStateSpec("$$followers", Map(int, SortedSet(int)))
    assert spec == PStateSpec("$$followers", Map(int, SortedSet(int)))
    with pytest.raises(AttributeError):
        spec.name = "$$other"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["followers", "$$", "$followers", ""])
def test_pstate_names_start_with_two_dollars(name: str) -> None:
    with pytest.raises(SchemaError, match="must start with"):
        PStateSpec(name, Map(int, str))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Map(list, str), "list cannot be a key type"),
        (lambda: Map(int, tuple), "tuple cannot be a value type"),
        (lambda: Map(int, set), "set cannot be a value type"),
        (lambda: Map(int, SortedMap(dict, int)), "dict cannot be a key type"),
        (lambda: Map(int, SortedSet(float | list)), "list cannot be a key type"),
        (lambda: CappedNewestFirst(int, int, str, 0), "cap must be positive"),
        (lambda: LinkedSet(int, bytearray), "bytearray cannot be a key type"),
        (lambda: PStateSpec("$$x", SortedMap(int, int)), "is not a Map, CappedNewestFirst, LinkedSet or PackedIntSet"),  # type: ignore[arg-type]
    ],
)
def test_bad_declarations_fail_when_declared(make: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        make()


@pytest.mark.parametrize(
    ("declared", "good", "bad"),
    [
        (int, [0, -5, 2**70], [True, 1.0, "1", None]),
        (str, ["", "x"], [b"x", 1]),
        (float, [1.5], [1, True]),
        (bool, [True], [1]),
        (tuple, [(), (1, "a")], [[1]]),
        ((int, str), [(1, "a")], [(1,), (1, 2), ("a", 1), [1, "a"]]),
        (int | None, [1, None], ["1"]),
        (Optional[str], ["a", None], [1]),  # noqa: UP045  # the typing spelling is accepted too
        (object, [1, "a", (1,), None], []),
        (Any, [1], []),
    ],
)
def test_key_guards(declared: Any, good: list[Any], bad: list[Any]) -> None:
    guard = key_guard("$$p", "key", declared)
    for key in good:
        guard(key)
    for key in bad:
        with pytest.raises(SchemaError, match=rf"PState \$\$p: key must be .*, got {type(key).__name__}"):
            guard(key)


@pytest.mark.parametrize(
    ("declared", "good", "bad"),
    [
        (int, [1], [True, "1", 1.0]),
        (dict, [{"a": [1, 2]}, {1: b"x"}], [[1]]),
        (list, [[1, "a"]], [(1,)]),
        (str | None, ["a", None], [1]),
        (object, [1, None, {"a": [1.5, b"x"]}, (1, 2)], [{1, 2}, object(), 2**65, {"a": {1}}]),
    ],
)
def test_value_packers(declared: Any, good: list[Any], bad: list[Any]) -> None:
    pack = value_packer("$$p", "value", declared)
    for value in good:
        assert isinstance(pack(value), bytes)
    for value in bad:
        with pytest.raises(SchemaError, match=r"PState \$\$p: value must be"):
            pack(value)


def test_a_failed_pack_leaves_the_packer_usable() -> None:
    pack = value_packer("$$p", "value", object)
    with pytest.raises(SchemaError, match="msgpack-encodable"):
        pack([1, {2}])
    assert pack("ok") == b"\xa2ok"


@pytest.mark.parametrize(
    ("declared", "text"),
    [
        (int, "int"),
        ((int, str), "tuple[int, str]"),
        (int | None, "int | None"),
        (object, "any"),
        (Any, "any"),
    ],
)
def test_describe(declared: Any, text: str) -> None:
    assert describe(declared) == text
