"""The key codec: roundtrip, order preservation, prefix-freeness, and its refusals."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pstates.errors import KeyEncodingError
from pstates.keycodec import (
    PREFIX_END,
    Key,
    decode_key,
    decode_key_at,
    encode_key,
    partition_of,
    prefix_end,
    suffix_decoder,
    tuple_prefix,
)

INT64 = st.integers(-(2**63), 2**63 - 1)
scalars = (
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False)
    | st.binary(max_size=12)
    | st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates included
)
keys: st.SearchStrategy[Key] = st.recursive(
    scalars, lambda children: st.lists(children, max_size=4).map(tuple), max_leaves=12
)
# Small alphabets make shared prefixes, escapes and ties likely.
crowded = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([-1.5, -0.0, 0.0, 2.5])
    | st.binary(max_size=3).map(lambda b: bytes(x % 3 for x in b))
    | st.text("\x00\x01a", max_size=3),
    lambda children: st.lists(children, max_size=3).map(tuple),
    max_leaves=6,
)

_RANK = {type(None): 0, int: 3, float: 4, bytes: 5, str: 6, tuple: 7}


def natural(key: Any) -> tuple[Any, ...]:
    """Order `key` the documented way: by type rank across types, naturally within one."""
    if isinstance(key, bool):
        return (1 + int(key),)
    rank = _RANK[type(key)]
    if isinstance(key, tuple):
        return (rank, tuple(natural(element) for element in key))
    return (rank,) if key is None else (rank, key)


def same_type_tree(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_type_tree(x, y) for x, y in zip(a, b, strict=True))
    return True


@given(keys)
def test_roundtrip_gives_back_an_equal_key_of_the_same_types(key: Key) -> None:
    decoded = decode_key(encode_key(key))
    assert natural(decoded) == natural(key)
    assert same_type_tree(decoded, key)


@given(st.lists(keys, max_size=20))
def test_sorting_encodings_sorts_keys(items: list[Key]) -> None:
    by_encoding = [natural(key) for key in sorted(items, key=encode_key)]
    assert by_encoding == sorted(natural(key) for key in items)


@given(crowded, crowded)
def test_bytewise_comparison_is_key_comparison(a: Key, b: Key) -> None:
    assert (encode_key(a) < encode_key(b)) == (natural(a) < natural(b))
    assert (encode_key(a) == encode_key(b)) == (natural(a) == natural(b))


@given(crowded, crowded)
def test_no_encoding_is_a_proper_prefix_of_another(a: Key, b: Key) -> None:
    ea, eb = encode_key(a), encode_key(b)
    if ea != eb:
        assert not eb.startswith(ea)


@given(st.lists(keys, min_size=1, max_size=5))
def test_concatenated_keys_decode_one_at_a_time(items: list[Key]) -> None:
    data = b"".join(encode_key(key) for key in items)
    pos = 0
    for key in items:
        decoded, pos = decode_key_at(data, pos)
        assert natural(decoded) == natural(key)
    assert pos == len(data)


@given(crowded, crowded)
def test_prefix_end_bounds_every_extension(key: Key, extension: Key) -> None:
    prefix = encode_key(key)
    extended = prefix + b"\x01" + encode_key(extension)
    assert prefix <= extended < prefix_end(prefix)
    assert encode_key(key)[0] < 0xFF


@given(st.lists(crowded, max_size=3), st.lists(crowded, max_size=3))
def test_tuple_prefix_bounds_tuples_that_start_with_it(head: list[Key], tail: list[Key]) -> None:
    prefix = tuple_prefix(tuple(head))
    assert prefix <= encode_key((*head, *tail)) < prefix + PREFIX_END


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        (None, False),
        (False, True),
        (True, -(2**63)),
        (2**63 - 1, float("-inf")),
        (-1, 0),
        (-0.5, 0.0),
        (float("inf"), b""),
        (b"\xff", ""),
        ("\U0010ffff", ()),
        ("a", "a\x00"),
        ("a\x00", "a\x01"),
        ("a\x01", "aa"),
        (b"a", b"a\x00"),
        ((1,), (1, None)),
        ((1, "a"), (1, "a\x00")),
        ((1, (2,)), (1, (2, 0))),
        ("\ud7ff", "\ud800"),
        ("\udfff", "\ue000"),
    ],
)
def test_documented_order(smaller: Key, larger: Key) -> None:
    assert encode_key(smaller) < encode_key(larger)


def test_negative_zero_is_zero() -> None:
    assert encode_key(-0.0) == encode_key(0.0)


@pytest.mark.parametrize("n", [2**63, -(2**63) - 1, 10**30])
def test_ints_outside_64_bits_are_refused(n: int) -> None:
    with pytest.raises(KeyEncodingError, match="outside the signed 64-bit range"):
        encode_key(n)


@pytest.mark.parametrize(
    ("key", "named"),
    [([1, 2], "list"), ({"a": 1}, "dict"), ({1}, "set"), (bytearray(b"x"), "bytearray"), ((1, [2]), "list")],
)
def test_unsupported_types_are_refused_by_name(key: Any, named: str) -> None:
    with pytest.raises(KeyEncodingError, match=f"a {named} cannot be a PState key"):
        encode_key(key)


def test_nan_is_refused() -> None:
    with pytest.raises(KeyEncodingError, match="NaN"):
        encode_key(float("nan"))


def test_subclasses_encode_as_their_base_type() -> None:
    import enum

    class Color(enum.IntEnum):
        RED = 3

    assert encode_key(Color.RED) == encode_key(3)
    assert decode_key(encode_key(Color.RED)) == 3


@pytest.mark.parametrize(
    "data",
    [b"", b"\xfe", b"\x10\x00", b"\x28abc", b"\x30\x10", bytes([0x10]) + bytes(8) + b"\x02"],
)
def test_malformed_encodings_are_refused(data: bytes) -> None:
    with pytest.raises(KeyEncodingError):
        decode_key(data)


@given(INT64, st.text(max_size=8))
def test_suffix_decoders_read_the_key_after_a_prefix(n: int, text: str) -> None:
    prefix = b"\x01\x02\x03"
    assert suffix_decoder(int)(prefix + encode_key(n), 3) == n
    assert suffix_decoder(str)(prefix + encode_key(text), 3) == text
    assert suffix_decoder(tuple)(prefix + encode_key((n, text)), 3) == (n, text)


def test_partition_is_a_crc32_of_the_encoding_so_every_process_agrees() -> None:
    assert partition_of(42, 8) == zlib.crc32(bytes.fromhex("10800000000000002a")) % 8 == 3
    assert partition_of("alice", 16) == zlib.crc32(b"\x28alice\x00") % 16
    assert {partition_of(n, 4) for n in range(100)} == {0, 1, 2, 3}


def test_partition_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        partition_of(1, 0)
