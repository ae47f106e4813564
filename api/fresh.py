"""Reading back what the caller has just written, on runtimes where part of a write lands after its ack.

On `tusk worker`s a write's hops to other tasks are applied shortly after the append is acknowledged
(`PROCESSED` covers the record's own task: docs/kafka.md, "Read-your-writes across tasks"), so a status
just created, or the account just registered, may read as missing for a few tens of milliseconds. Where
the thing *must* exist (its id came from the write, or the caller's token names it), the API retries the
read up to `FRESH_BOUND_S` instead of answering 404. Embedded, the first read finds it and nothing waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

FRESH_BOUND_S = 3.0
FRESH_POLL_S = 0.02


async def written(load: Callable[[], Awaitable[T | None]]) -> T | None:
    """`load()`'s first non-None answer, retried while None for up to `FRESH_BOUND_S` (then None)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FRESH_BOUND_S
    while (found := await load()) is None and loop.time() < deadline:
        await asyncio.sleep(FRESH_POLL_S)  # a bounded wait for hops in flight, not a synchronization
    return found
