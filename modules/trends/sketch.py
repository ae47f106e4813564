"""Distinct-account counts for time buckets: an exact set while small, a HyperLogLog beyond.

A bucket's accounts are stored as {"exact": [sorted ids]} up to `EXACT_LIMIT` accounts, then as
{"hll": 1,024 one-byte registers}. Why both: nearly every (tag, hour) has a handful of accounts, and the
trend threshold sits at 5 accounts, where an estimate's small-range error would decide trends; an exact
list is also smaller than registers until ~100 ids. Past the limit a fixed 1 KiB bucket keeps a viral tag
from growing a list of millions, and a union over a window (a day of hourly buckets) is a register-wise
max. Standard error is ~1.04/sqrt(1024) = 3.3%. Both forms depend only on the set of accounts added, never
on the order or batching, so a replay rebuilds the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

EXACT_LIMIT = 64
PRECISION = 10
REGISTERS = 1 << PRECISION
_MASK = (1 << 64) - 1

Sketch = dict[str, Any]


def empty() -> Sketch:
    """Return a sketch of no accounts."""
    return {"exact": []}


def add(sketch: Sketch | None, accounts: Iterable[int]) -> Sketch:
    """Return `sketch` with `accounts` added."""
    current = sketch or empty()
    if "hll" in current:
        registers = bytearray(current["hll"])
        for account in accounts:
            _observe(registers, account)
        return {"hll": bytes(registers)}
    members = set(current["exact"]).union(accounts)
    if len(members) <= EXACT_LIMIT:
        return {"exact": sorted(members)}
    registers = bytearray(REGISTERS)
    for account in members:
        _observe(registers, account)
    return {"hll": bytes(registers)}


def union(sketches: Iterable[Sketch]) -> Sketch:
    """Return the sketch of the union of `sketches`' accounts."""
    members: set[int] = set()
    registers: np.ndarray[Any, np.dtype[np.uint8]] | None = None
    for sketch in sketches:
        if "hll" in sketch:
            regs = np.frombuffer(sketch["hll"], dtype=np.uint8)
            registers = regs.copy() if registers is None else np.maximum(registers, regs)
        else:
            members.update(sketch["exact"])
    if registers is None:
        return add(None, members)
    return add({"hll": registers.tobytes()}, members)


def count(sketch: Sketch | None) -> int:
    """Return how many distinct accounts `sketch` holds (exact, or the HyperLogLog estimate)."""
    if sketch is None:
        return 0
    if "exact" in sketch:
        return len(sketch["exact"])
    registers = np.frombuffer(sketch["hll"], dtype=np.uint8)
    alpha = 0.7213 / (1 + 1.079 / REGISTERS)
    estimate = alpha * REGISTERS * REGISTERS / float(np.sum(np.ldexp(1.0, -registers.astype(np.int32))))
    zeros = int(np.count_nonzero(registers == 0))
    if estimate <= 2.5 * REGISTERS and zeros:
        estimate = REGISTERS * math.log(REGISTERS / zeros)  # linear counting for the small range
    return round(estimate)


def _observe(registers: bytearray, account: int) -> None:
    hashed = _mix(account)
    index = hashed >> (64 - PRECISION)
    rest = (hashed << PRECISION) & _MASK
    rank = 64 - rest.bit_length() + 1 if rest else 64 - PRECISION + 1
    if rank > registers[index]:
        registers[index] = rank


def _mix(value: int) -> int:
    """Return a well-spread 64-bit hash of `value`, the same in every process (splitmix64's finalizer)."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)
