"""`keycodec.partition_of` for a whole numpy array of int keys at once: fanout groups thousands per page.

An int key's encoding is 9 bytes, the int tag then the big-endian u64 of `key + 2**63`, and its partition
is `zlib.crc32(encoding) % partitions`. CRC-32 of messages of one length is affine over XOR: the CRC of
the tag followed by bytes b0..b7 is the CRC of the tag followed by eight zero bytes, XOR one table entry
per byte position and value (`_TABLES[j][bj]`, each the CRC change that byte alone makes). So an array
costs eight table lookups and XORs, not a Python call per key. `tests/pstates/test_partitions.py` checks it
against `partition_of`.
"""

from __future__ import annotations

import zlib

import numpy as np

from pstates.keycodec import INT_TAG

KEY_BYTES = 8


def _tables() -> tuple[int, np.ndarray]:
    """Return the CRC of the tag and eight zero bytes, and per position the change each byte value makes."""
    base = bytes([INT_TAG]) + bytes(KEY_BYTES)
    zero = zlib.crc32(base)
    tables = np.zeros((KEY_BYTES, 256), dtype=np.uint32)
    for position in range(KEY_BYTES):
        for value in range(256):
            message = bytearray(base)
            message[1 + position] = value
            tables[position, value] = zlib.crc32(bytes(message)) ^ zero
    return zero, tables


_ZERO, _TABLES = _tables()


def partitions_of_ints(keys: np.ndarray, partitions: int) -> np.ndarray:
    """Return, for each int64 key, the partition `keycodec.partition_of(key, partitions)` gives it."""
    if partitions < 1:
        raise ValueError(f"partitions must be positive, got {partitions}")
    if partitions == 1:
        return np.zeros(len(keys), dtype=np.int64)
    unsigned = keys.astype(np.int64, copy=False).view(np.uint64) ^ np.uint64(1 << 63)  # key + 2**63 mod 2**64
    columns = unsigned.astype(">u8").view(np.uint8).reshape(-1, KEY_BYTES)  # big-endian bytes, one row per key
    crc = np.full(len(keys), _ZERO, dtype=np.uint32)
    for position in range(KEY_BYTES):
        crc ^= _TABLES[position][columns[:, position]]
    partition: np.ndarray = (crc % np.uint32(partitions)).astype(np.int64)
    return partition
