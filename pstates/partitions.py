"""`keycodec.partition_of` for a whole numpy array of int keys at once: fanout groups thousands per page.

An int key's encoding is 9 bytes, the int tag then the big-endian u64 of `key + 2**63`, and its partition
is `zlib.crc32(encoding) % partitions`. This runs the same table-driven CRC-32 (reflected polynomial
0xEDB88320, as zlib) over the 9 byte columns of the array, so each byte costs a few vectorized operations
instead of a Python call per key. `tests/pstates/test_partitions.py` checks it against `partition_of`.
"""

from __future__ import annotations

import numpy as np

from pstates.keycodec import INT_TAG


def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1).astype(np.uint32)
    return table


_TABLE = _crc_table()


def partitions_of_ints(keys: np.ndarray, partitions: int) -> np.ndarray:
    """Return, for each int64 key, the partition `keycodec.partition_of(key, partitions)` gives it."""
    if partitions < 1:
        raise ValueError(f"partitions must be positive, got {partitions}")
    if partitions == 1:
        return np.zeros(len(keys), dtype=np.int64)
    unsigned = keys.astype(np.int64, copy=False).view(np.uint64) ^ np.uint64(1 << 63)  # key + 2**63 mod 2**64
    columns = unsigned.astype(">u8").view(np.uint8).reshape(-1, 8).T.astype(np.uint32)  # big-endian bytes
    crc: np.ndarray = np.full(len(keys), 0xFFFFFFFF, dtype=np.uint32)
    crc = _TABLE[(crc ^ np.uint32(INT_TAG)) & 0xFF] ^ (crc >> 8)
    for byte in columns:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    partition: np.ndarray = ((crc ^ np.uint32(0xFFFFFFFF)) % np.uint32(partitions)).astype(np.int64)
    return partition
