"""A numpy hash table from account (or list) id to the row of its timeline: a batch looked up in a few passes.

Home timelines look up the row of every recipient of a microbatch (tens of thousands of ids). A sorted
key array and `np.searchsorted` costs a binary search per id (a dozen dependent, cache-missing steps);
this open-addressing table (multiplicative hash, linear probing) finds nearly every id
in its first slot, so a lookup is a hash, two gathers and a compare over the whole batch. At most a
quarter of the slots are used (16 bytes a slot: 1 MB for 16,000 accounts), so probes stay short.
"""

from __future__ import annotations

import numpy as np

MISSING = -1  # the row of an id not in the table
FREE = np.iinfo(np.int64).min  # the key of an empty slot: the one id the table cannot hold
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd: Fibonacci hashing spreads close ids
MIN_BITS = 10
LOAD = 4  # slots per id at least: most ids sit in their first slot


class RowIndex:
    """Ids (int64 but its minimum) to rows (int64), both given to `add`."""

    def __init__(self) -> None:
        self._bits = MIN_BITS
        self._keys = np.full(1 << MIN_BITS, FREE, dtype=np.int64)
        self._rows = np.full(1 << MIN_BITS, MISSING, dtype=np.int64)
        self.size = 0

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Return the row of each id (int64 array), `MISSING` for ids not added."""
        slots = self._slots(ids)
        found = self._keys[slots] == ids
        out: np.ndarray = self._rows[slots]
        if found.all():
            return out
        mask = (1 << self._bits) - 1
        pending = np.flatnonzero(~found)  # ids not in their first slot: further on, or missing
        slots = slots[pending]
        keys = self._keys[slots]
        while pending.size:
            hit = keys == ids[pending]
            out[pending[hit]] = self._rows[slots[hit]]
            empty = keys == FREE  # an empty slot ends the probe: the id is missing
            out[pending[empty]] = MISSING
            probing = ~(hit | empty)
            pending, slots = pending[probing], (slots[probing] + 1) & mask
            keys = self._keys[slots]
        return out

    def add(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Map each of `ids` (distinct, not yet added) to the row at the same index of `rows`."""
        self.size += int(ids.size)
        if LOAD * self.size > self._keys.size:
            self._grow()  # rehashes the ids added before
        self._place(ids, rows)

    def _slots(self, ids: np.ndarray) -> np.ndarray:
        hashed = ids.view(np.uint64) * MULTIPLIER  # wraps modulo 2**64, as the hash wants
        slots: np.ndarray = (hashed >> np.uint64(64 - self._bits)).view(np.int64)
        return slots

    def _place(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Write each id into its first free slot from its hash on (one id at a time per round)."""
        mask = (1 << self._bits) - 1
        slots = self._slots(ids)
        while ids.size:
            free = self._keys[slots] == FREE
            # several ids may want one free slot: the first of them takes it, the rest probe on
            _, first = np.unique(slots, return_index=True)
            taking = np.zeros(ids.size, dtype=bool)
            taking[first] = True
            taking &= free
            self._keys[slots[taking]] = ids[taking]
            self._rows[slots[taking]] = rows[taking]
            ids, rows, slots = ids[~taking], rows[~taking], (slots[~taking] + 1) & mask

    def _grow(self) -> None:
        """Double the slots until at most 1/`LOAD` of them are used, and rehash the ids already placed."""
        used = self._keys != FREE
        ids, rows = self._keys[used], self._rows[used]
        while LOAD * self.size > (1 << self._bits):
            self._bits += 1
        self._keys = np.full(1 << self._bits, FREE, dtype=np.int64)
        self._rows = np.full(1 << self._bits, MISSING, dtype=np.int64)
        self._place(ids, rows)
