"""The cluster's clock: wall time in production, a `FakeClock` (cluster.testing) in tests."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Milliseconds since the epoch, and a way to wait for a later time."""

    def now_ms(self) -> int:
        """Current time in ms since the epoch."""
        ...

    async def sleep_ms(self, ms: int) -> None:
        """Return once `ms` milliseconds of this clock's time have passed."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_ms(self) -> int:
        """Current wall time in ms since the epoch."""
        return time.time_ns() // 1_000_000

    async def sleep_ms(self, ms: int) -> None:
        """Sleep for `ms` wall-clock milliseconds."""
        await asyncio.sleep(ms / 1000)
