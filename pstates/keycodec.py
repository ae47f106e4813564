"""Order-preserving, self-delimiting encoding of PState keys into bytes.

A key is None, a bool, a signed 64-bit int, a float, a str, bytes, or a tuple of keys. Encodings compare
bytewise exactly as the keys compare naturally within a type, and across types in this fixed order:

    None < False < True < int < float < bytes < str < tuple

Ints and floats are separate types: every int sorts before every float, whatever their values, so a key
column should hold one of the two. Within a type: ints numerically (negatives first), floats numerically
(NaN is rejected, -0.0 is stored as 0.0 because they are the same dict key), bytes lexicographically, str
by code point, tuples element by element with a proper prefix first. Like dict keys, True and 1 are equal
in Python but are different keys here; the declared schema types keep a PState to one of them.

Layout (one tag byte, then the payload):

    0x00              end of a tuple: sorts below every tag, so (a,) < (a, anything)
    0x02              None
    0x04 / 0x05       False / True
    0x10 + 8 bytes    int: big-endian of n + 2**63 (sign flipped so negatives sort first)
    0x18 + 8 bytes    float: IEEE 754 big-endian, sign bit flipped, all bits flipped when negative
    0x20 ... 0x00     bytes: 0x01 -> 0x01 0x02 and 0x00 -> 0x01 0x01, then a 0x00 terminator
    0x28 ... 0x00     str: its UTF-8 (code-point order), escaped and terminated like bytes
    0x30 ... 0x00     tuple: the encodings of its elements, then the end byte

The escape differs from FoundationDB's (0x00 -> 0x00 0xFF) on purpose: there, enc(b"a") is a proper prefix
of enc(b"a\\x00"). Here the terminator byte never appears inside a payload, so no encoding is a proper
prefix of another. Every tag is below 0xFF, hence `prefix + b"\\xff"` bounds every key that extends an
encoded `prefix`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any, TypeAlias

from pstates.errors import KeyEncodingError

# A key value. Decoding returns tuples as tuples.
Key: TypeAlias = bool | int | float | str | bytes | tuple["Key", ...] | None

END = 0x00
NONE_TAG = 0x02
FALSE_TAG = 0x04
TRUE_TAG = 0x05
INT_TAG = 0x10
FLOAT_TAG = 0x18
BYTES_TAG = 0x20
STR_TAG = 0x28
TUPLE_TAG = 0x30

# Appending this to an encoded key gives an exclusive upper bound of every key that extends it.
PREFIX_END = b"\xff"

_INT_OFFSET = 1 << 63
_INT_MAX = (1 << 63) - 1
_FLIP_ALL = (1 << 64) - 1
_TAGGED_U64 = struct.Struct(">BQ")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")
_pack_tagged_u64 = _TAGGED_U64.pack
_unpack_u64_from = _U64.unpack_from

_NONE_ENC = bytes([NONE_TAG])
_FALSE_ENC = bytes([FALSE_TAG])
_TRUE_ENC = bytes([TRUE_TAG])
_BYTES_PREFIX = bytes([BYTES_TAG])
_STR_PREFIX = bytes([STR_TAG])
_TUPLE_PREFIX = bytes([TUPLE_TAG])
_TERMINATOR = bytes([END])

# For bulk encoders that inline the int case (see `MapPState.put_many`): an int key's encoding is
# `PACK_TAGGED_U64(INT_TAG, key + INT_OFFSET)`, and `struct.error` means it is outside 64 bits.
PACK_TAGGED_U64 = _pack_tagged_u64
INT_OFFSET = _INT_OFFSET

Decoder: TypeAlias = Callable[[bytes, int], tuple[Key, int]]


def encode_key(key: Key) -> bytes:
    """Encode `key` so that bytewise order matches key order."""
    if type(key) is int:  # the commonest key, inlined: ids
        try:
            return _pack_tagged_u64(INT_TAG, key + _INT_OFFSET)
        except struct.error:
            raise _int_out_of_range(key) from None
    encoder = _ENCODERS.get(type(key))
    if encoder is None:
        return _encode_subclass(key)
    return encoder(key)


def decode_key(data: bytes, start: int = 0) -> Key:
    """Decode the one key that occupies `data[start:]`."""
    tag = data[start] if start < len(data) else -1
    if tag == INT_TAG and len(data) - start == 9:
        n: int = _unpack_u64_from(data, start + 1)[0] - _INT_OFFSET
        return n
    if tag == STR_TAG and data[-1] == END:
        return _decode_str_payload(data[start + 1 : -1])
    key, end = decode_key_at(data, start)
    if end != len(data):
        raise KeyEncodingError(f"{len(data) - end} trailing bytes after the key at offset {start}")
    return key


def decode_key_at(data: bytes, pos: int) -> tuple[Key, int]:
    """Decode the key that starts at `data[pos]`; return it with the offset just past it."""
    try:
        decoder = _DECODERS[data[pos]]
    except (KeyError, IndexError):
        raise _malformed(data, pos) from None
    return decoder(data, pos)


def partition_of(key: Key, partitions: int) -> int:
    """Return the partition in `range(partitions)` that owns `key`, the same in every process."""
    if partitions < 1:
        raise ValueError(f"partitions must be positive, got {partitions}")
    return zlib.crc32(encode_key(key)) % partitions


def suffix_decoder(key_type: object) -> Callable[[bytes, int], Key]:
    """Return the fastest decoder of a key of declared `key_type` that occupies `data[start:]`."""
    if key_type is int:
        return _decode_int_suffix
    if key_type is str:
        return _decode_str_suffix
    return decode_key


def prefix_end(prefix: bytes) -> bytes:
    """Return the exclusive upper bound of every key that extends the encoded `prefix`."""
    return prefix + PREFIX_END


def tuple_prefix(elements: tuple[Key, ...]) -> bytes:
    """Encode the shared prefix of every tuple key that starts with `elements`."""
    return _TUPLE_PREFIX + b"".join([encode_key(element) for element in elements])


# --- encoders -------------------------------------------------------------------------------------------


def _encode_none(_: None) -> bytes:
    return _NONE_ENC


def _encode_bool(flag: bool) -> bytes:
    return _TRUE_ENC if flag else _FALSE_ENC


def _encode_int(n: int) -> bytes:
    try:
        return _pack_tagged_u64(INT_TAG, n + _INT_OFFSET)
    except struct.error:
        raise _int_out_of_range(n) from None


def _int_out_of_range(n: int) -> KeyEncodingError:
    return KeyEncodingError(f"int key {n} is outside the signed 64-bit range [{-_INT_OFFSET}, {_INT_MAX}]")


def _encode_float(x: float) -> bytes:
    if x != x:
        raise KeyEncodingError("NaN cannot be a key: it has no order")
    (bits,) = _U64.unpack(_F64.pack(x + 0.0))  # + 0.0 turns -0.0 into 0.0
    bits = bits ^ _FLIP_ALL if bits >> 63 else bits | _INT_OFFSET
    return _pack_tagged_u64(FLOAT_TAG, bits)


def _escape(raw: bytes) -> bytes:
    # 0x01 first: escaping 0x00 introduces 0x01 bytes that must not be escaped again.
    return raw.replace(b"\x01", b"\x01\x02").replace(b"\x00", b"\x01\x01")


def _encode_bytes(raw: bytes) -> bytes:
    if 0 in raw or 1 in raw:
        raw = _escape(raw)
    return _BYTES_PREFIX + raw + _TERMINATOR


def _encode_str(text: str) -> bytes:
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        # Lone surrogates: surrogatepass keeps their code-point order.
        raw = text.encode("utf-8", "surrogatepass")
    if 0 in raw or 1 in raw:
        raw = _escape(raw)
    return _STR_PREFIX + raw + _TERMINATOR


def _encode_tuple(elements: tuple[Key, ...]) -> bytes:
    return _TUPLE_PREFIX + b"".join([encode_key(element) for element in elements]) + _TERMINATOR


def _encode_subclass(key: object) -> bytes:
    # Subclasses (IntEnum, str enums, named tuples) encode as their base type; bool is matched exactly above.
    for base, encoder in _SUBCLASS_ENCODERS:
        if isinstance(key, base):
            return encoder(key)
    raise KeyEncodingError(
        f"a {type(key).__name__} cannot be a PState key: use None, bool, int, float, str, bytes or a tuple"
    )


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    type(None): _encode_none,
    bool: _encode_bool,
    int: _encode_int,
    float: _encode_float,
    bytes: _encode_bytes,
    str: _encode_str,
    tuple: _encode_tuple,
}
_SUBCLASS_ENCODERS: tuple[tuple[type, Callable[[Any], bytes]], ...] = tuple(
    (base, _ENCODERS[base]) for base in (int, float, bytes, str, tuple)
)


# --- decoders -------------------------------------------------------------------------------------------


def _malformed(data: bytes, pos: int) -> KeyEncodingError:
    return KeyEncodingError(f"malformed key encoding at offset {pos}: {data[pos : pos + 16]!r}")


def _unescape(payload: bytes) -> bytes:
    if 1 in payload:
        return payload.replace(b"\x01\x01", b"\x00").replace(b"\x01\x02", b"\x01")
    return payload


def _decode_str_payload(payload: bytes) -> str:
    if 1 in payload or 0 in payload:
        if 0 in payload:
            raise KeyEncodingError(f"malformed str key payload {payload[:16]!r}")
        payload = _unescape(payload)
    try:
        return payload.decode()
    except UnicodeDecodeError:
        return payload.decode("utf-8", "surrogatepass")


def _payload_end(data: bytes, pos: int) -> int:
    end = data.find(END, pos + 1)
    if end < 0:
        raise _malformed(data, pos)
    return end


def _decode_int_suffix(data: bytes, start: int) -> Key:
    n: int = _unpack_u64_from(data, start + 1)[0] - _INT_OFFSET
    return n


def _decode_str_suffix(data: bytes, start: int) -> Key:
    return _decode_str_payload(data[start + 1 : -1])


def _decode_none(_: bytes, pos: int) -> tuple[Key, int]:
    return None, pos + 1


def _decode_false(_: bytes, pos: int) -> tuple[Key, int]:
    return False, pos + 1


def _decode_true(_: bytes, pos: int) -> tuple[Key, int]:
    return True, pos + 1


def _decode_int(data: bytes, pos: int) -> tuple[Key, int]:
    if len(data) < pos + 9:
        raise _malformed(data, pos)
    n: int = _unpack_u64_from(data, pos + 1)[0] - _INT_OFFSET
    return n, pos + 9


def _decode_float(data: bytes, pos: int) -> tuple[Key, int]:
    if len(data) < pos + 9:
        raise _malformed(data, pos)
    (bits,) = _unpack_u64_from(data, pos + 1)
    bits = bits ^ _INT_OFFSET if bits >> 63 else bits ^ _FLIP_ALL
    x: float = _F64.unpack(_U64.pack(bits))[0]
    return x, pos + 9


def _decode_bytes(data: bytes, pos: int) -> tuple[Key, int]:
    end = _payload_end(data, pos)
    return _unescape(data[pos + 1 : end]), end + 1


def _decode_str(data: bytes, pos: int) -> tuple[Key, int]:
    end = _payload_end(data, pos)
    return _decode_str_payload(data[pos + 1 : end]), end + 1


def _decode_tuple(data: bytes, pos: int) -> tuple[Key, int]:
    elements: list[Key] = []
    pos += 1
    while True:
        if pos >= len(data):
            raise _malformed(data, pos)
        if data[pos] == END:
            return tuple(elements), pos + 1
        element, pos = decode_key_at(data, pos)
        elements.append(element)


_DECODERS: dict[int, Decoder] = {
    NONE_TAG: _decode_none,
    FALSE_TAG: _decode_false,
    TRUE_TAG: _decode_true,
    INT_TAG: _decode_int,
    FLOAT_TAG: _decode_float,
    BYTES_TAG: _decode_bytes,
    STR_TAG: _decode_str,
    TUPLE_TAG: _decode_tuple,
}
