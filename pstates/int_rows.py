"""Columns of `(key, int sub, value)` rows, their element keys built with numpy: bulk writes of id graphs.

A graph load writes millions of rows whose subs are account ids and whose keys and values repeat (a
followee's followers, one options dict per import). Given as columns (distinct keys and values, an index
into each per row, the subs as an int64 array), every element key is built in one array, and each
distinct key is checked, encoded and each distinct value packed once, instead of once per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pstates.keycodec import INT_OFFSET, INT_TAG, Key
from pstates.schema import ELEMENTS


@dataclass(frozen=True)
class IntRows:
    """Rows `(keys[key_of_row[i]], subs[i], values[value_of_row[i]])`, in order."""

    keys: list[Key]
    key_of_row: np.ndarray  # int indexes into `keys`
    subs: np.ndarray  # int64
    values: list[Any]
    value_of_row: np.ndarray  # int indexes into `values`

    def __len__(self) -> int:
        """Number of rows."""
        return int(self.subs.size)


def element_keys(outers: list[bytes], key_of_row: np.ndarray, subs: np.ndarray) -> list[bytes]:
    """Return `outers[key_of_row[i]] + ELEMENTS + encode_key(subs[i])` for every row, built as one array."""
    rows = subs.size
    if rows == 0:
        return []
    widths = {len(outer) for outer in outers}
    if len(widths) != 1:  # outers of several lengths (str keys): join per row
        encoded = int_encodings(subs)
        return [outers[k] + ELEMENTS + encoded[i] for i, k in enumerate(key_of_row.tolist())]
    outer_width = widths.pop()
    width = outer_width + 1 + 9
    table = np.frombuffer(b"".join(outers), dtype=np.uint8).reshape(len(outers), outer_width)
    out = np.empty((rows, width), dtype=np.uint8)
    out[:, :outer_width] = table[key_of_row]
    out[:, outer_width] = ELEMENTS[0]
    out[:, outer_width + 1] = INT_TAG
    out[:, outer_width + 2 :] = _big_endian_offset(subs).view(np.uint8).reshape(rows, 8)
    raw = out.tobytes()
    return [raw[start : start + width] for start in range(0, rows * width, width)]


def int_encodings(subs: np.ndarray) -> list[bytes]:
    """Return `encode_key(int(s))` for each of `subs`."""
    rows = subs.size
    out = np.empty((rows, 9), dtype=np.uint8)
    out[:, 0] = INT_TAG
    out[:, 1:] = _big_endian_offset(subs).view(np.uint8).reshape(rows, 8)
    raw = out.tobytes()
    return [raw[start : start + 9] for start in range(0, rows * 9, 9)]


def _big_endian_offset(subs: np.ndarray) -> np.ndarray:
    """The keycodec's int payload: n + 2**63 as big-endian u64 (the sign bit flipped)."""
    flipped = subs.astype(np.int64, copy=False).view(np.uint64) ^ np.uint64(INT_OFFSET)
    return flipped.astype(">u8")
