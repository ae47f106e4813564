"""The client API every runtime offers: append to a depot, read a PState, invoke a query, subscribe to outputs.

The API layer and the benchmarks talk to a cluster only through `ClusterClient`, so they run unchanged on
the embedded cluster and on the distributed one.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cluster.clock import Clock
from pstates.errors import TuskError


class Ack(enum.Enum):
    """How long `append` waits."""

    NONE = "none"  # fire and forget: the offset is assigned, durability is not awaited
    APPENDED = "appended"  # durable in the depot log
    PROCESSED = "processed"  # durable, and every stream topology consuming the depot has processed it


class RecordFailedError(TuskError):
    """A stream topology gave up on a record after its retries; the record sits in the dead letters."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where a record landed and, for `Ack.PROCESSED`, what each stream topology returned for it."""

    partition: int
    offset: int
    results: Mapping[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> Any:
        """The one non-None value a stream topology returned (the generated id, say), else None."""
        values = [v for v in self.results.values() if v is not None]
        return values[0] if len(values) == 1 else None


@dataclass(frozen=True, slots=True)
class OutputEvent:
    """One event a topology emitted on a module's output (`value` is a decoded copy: treat it as read-only)."""

    module: str
    output: str
    value: Any


class Subscription(ABC):
    """Live events of one module's outputs, in emit order, from subscription until `close`.

    Events emitted while nobody is subscribed are gone (live only, like Mastodon's streaming). A subscriber
    that falls more than its `max_pending` events behind loses the oldest ones; `dropped` counts them, so it
    can tell it has a gap (and, say, make its clients re-fetch) instead of stalling the topologies.
    """

    @abstractmethod
    async def next(self) -> OutputEvent:
        """Wait for the next event; raise `StopAsyncIteration` once closed and drained."""

    @abstractmethod
    def close(self) -> None:
        """Stop receiving events (idempotent); a waiting `next` ends the iteration."""

    @property
    @abstractmethod
    def dropped(self) -> int:
        """How many events were dropped because this subscriber fell behind."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """How many events are queued and not taken yet."""

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> OutputEvent:
        return await self.next()


class ClientPState(ABC):
    """A PState seen from outside its module: committed state, each call routed by its first argument."""

    @abstractmethod
    async def call(self, method: str, key: object, *args: Any, **kwargs: Any) -> Any:
        """Run view method `method(key, *args, **kwargs)` on the task that owns `key`."""

    async def get(self, key: object, *args: Any, **kwargs: Any) -> Any:
        """`get` on the owning task (Map: value; subindexed: inner value of `args[0]`)."""
        return await self.call("get", key, *args, **kwargs)

    async def contains(self, key: object, *args: Any) -> bool:
        """`contains` on the owning task."""
        return bool(await self.call("contains", key, *args))

    async def size(self, key: object) -> int:
        """Size of the inner collection under `key`."""
        return int(await self.call("size", key))

    async def range(self, key: object, *args: Any, **kwargs: Any) -> list[Any]:
        """Range of the inner collection under `key`."""
        return list(await self.call("range", key, *args, **kwargs))

    @abstractmethod
    async def multi_get(self, keys: list[object]) -> list[Any]:
        """Values of top-level `keys`, fetched per owning task in one multi-get each."""


class ClusterClient(ABC):
    """Append, read and query against the modules a cluster runs.

    `clock` is the cluster's clock: what topologies stamp (`ctx.time_ms`) and queries read (`ctx.now_ms`), so
    a caller comparing against stored times (mute expiry) uses the same one, a `FakeClock` in tests.
    """

    clock: Clock

    @abstractmethod
    async def append(self, module: str, depot: str, record: object, ack: Ack = Ack.PROCESSED) -> AppendResult:
        """Append `record` to `module`'s depot; see `Ack` for what is awaited."""

    @abstractmethod
    async def append_many(
        self, module: str, depot: str, records: Sequence[object], ack: Ack = Ack.PROCESSED
    ) -> list[AppendResult]:
        """Append `records` in order, as `append` would one by one; a bad record fails all before any write."""

    @abstractmethod
    def pstate(self, module: str, name: str) -> ClientPState:
        """A routed, read-only handle on `module`'s PState `name`."""

    @abstractmethod
    async def query(self, module: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Invoke `module`'s query `name` with `args` and return its (combined) result."""

    async def subscribe(self, module: str, *outputs: str, max_pending: int = 10_000) -> Subscription:
        """Receive the events `module`'s topologies emit on `outputs` from now on (see `Subscription`)."""
        raise NotImplementedError(f"{type(self).__name__} does not publish module outputs")
