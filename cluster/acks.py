"""Tracks `Ack.PROCESSED` appends until every stream topology consuming their depot has processed them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cluster.client import RecordFailedError
from topology.context import RecordRejected

# (module, depot, partition)
PartitionKey = tuple[str, str, int]


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[dict[str, Any]]
    pending: set[str]
    results: dict[str, Any] = field(default_factory=dict)


class AckTracker:
    """Waiters per depot partition and offset, resolved by stream runners as they commit."""

    def __init__(self) -> None:
        self._waiters: dict[PartitionKey, dict[int, _Waiter]] = {}

    def register(self, key: PartitionKey, offset: int, topologies: set[str]) -> asyncio.Future[dict[str, Any]]:
        """Return a future resolved once every topology in `topologies` has processed `offset`."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if not topologies:
            future.set_result({})
            return future
        self._waiters.setdefault(key, {})[offset] = _Waiter(future, set(topologies))
        return future

    def processed(self, key: PartitionKey, topology: str, start: int, results: list[Any]) -> None:
        """Record that `topology` committed offsets `start .. start+len(results)-1` with these results."""
        waiters = self._waiters.get(key)
        if not waiters:
            return
        for index, result in enumerate(results):
            waiter = waiters.get(start + index)
            if waiter is None or topology not in waiter.pending:
                continue
            waiter.pending.discard(topology)
            waiter.results[topology] = result
            if not waiter.pending:
                del waiters[start + index]
                _resolve(waiter)

    def fail_all(self, error: BaseException) -> None:
        """Fail every waiting append (the cluster is closing)."""
        for waiters in self._waiters.values():
            for waiter in waiters.values():
                if not waiter.future.done():
                    waiter.future.set_exception(error)
        self._waiters.clear()


def _resolve(waiter: _Waiter) -> None:
    if waiter.future.done():
        return
    for result in waiter.results.values():
        if isinstance(result, (RecordRejected, RecordFailedError)):
            waiter.future.set_exception(result)
            return
    waiter.future.set_result(waiter.results)
