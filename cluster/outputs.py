"""Module outputs on the embedded cluster: channels topologies emit on, and bounded in-memory subscriptions.

A topology's `ctx.emit(output, event)` encodes the event (msgpack, as a Kafka runtime will put it on a
topic) into its `Round` only while the output has a subscriber, so an unwatched output costs one dict lookup
and one truthiness test per emit. The runners publish a round's events after it commits, in emit order;
an aborted attempt's events are dropped with it. Each subscriber gets its own bounded queue: when it is
full the oldest event is dropped and counted (`Subscription.dropped`), so a slow subscriber never blocks a
topology and always sees the newest events.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from cluster.client import OutputEvent, Subscription
from depots.codec import decode_record
from pstates.errors import TuskError
from topology.module import ModuleDefinition

DEFAULT_MAX_PENDING = 10_000


class UnknownOutputError(TuskError, KeyError):
    """An output name that the module does not declare."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown output"


class QueueSubscription(Subscription):
    """A subscription fed by `push`: a bounded queue that drops its oldest event when full."""

    def __init__(self, channels: list[OutputChannel], max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._channels = channels
        self._events: deque[OutputEvent] = deque()
        self._max_pending = max_pending
        self._ready = asyncio.Event()
        self._dropped = 0
        self.closed = False
        for channel in channels:
            channel.subscribers.append(self)

    @property
    def dropped(self) -> int:
        """Events dropped because this subscriber fell `max_pending` behind."""
        return self._dropped

    @property
    def pending(self) -> int:
        """Events queued and not taken yet."""
        return len(self._events)

    def push(self, event: OutputEvent) -> None:
        """Queue `event`, dropping the oldest queued one if the queue is full (never blocks)."""
        if self.closed:
            return
        if len(self._events) >= self._max_pending:
            self._events.popleft()
            self._dropped += 1
        self._events.append(event)
        self._ready.set()

    async def next(self) -> OutputEvent:
        """Wait for the next event; `StopAsyncIteration` once closed and drained."""
        while not self._events:
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    def close(self) -> None:
        """Leave every channel and wake a waiting `next` (queued events can still be taken)."""
        if self.closed:
            return
        self.closed = True
        for channel in self._channels:
            if self in channel.subscribers:
                channel.subscribers.remove(self)
        self._ready.set()


class OutputChannel:
    """One declared output of one launched module and its current subscribers."""

    __slots__ = ("module", "name", "subscribers")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self.subscribers: list[QueueSubscription] = []

    def publish(self, payload: bytes) -> None:
        """Decode one emitted event once and queue it for every current subscriber."""
        if not self.subscribers:
            return  # the last subscriber left between emit and commit
        event = OutputEvent(self.module, self.name, decode_record(payload))
        for subscriber in list(self.subscribers):
            subscriber.push(event)


class Outputs:
    """Every launched module's output channels on one embedded cluster."""

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, OutputChannel]] = {}
        self._subscriptions: list[QueueSubscription] = []

    def declare(self, definition: ModuleDefinition) -> dict[str, OutputChannel]:
        """Open a channel for each output `definition` declares; return them by name."""
        channels = {name: OutputChannel(definition.name, name) for name in definition.outputs}
        self._channels[definition.name] = channels
        return channels

    def channels_of(self, module: str) -> dict[str, OutputChannel]:
        """`module`'s channels by output name (empty for a module without outputs)."""
        return self._channels.get(module, {})

    def channel(self, module: str, output: str) -> OutputChannel:
        """The channel of `module`'s `output`, or `UnknownOutputError` listing what the module declares."""
        channels = self._channels.get(module, {})
        channel = channels.get(output)
        if channel is None:
            known = ", ".join(sorted(channels)) or "none"
            raise UnknownOutputError(f"module {module!r} has no output {output!r} (it declares: {known})")
        return channel

    def subscribe(self, module: str, outputs: Iterable[str], max_pending: int) -> QueueSubscription:
        """Subscribe to `module`'s `outputs` from now on."""
        names = list(outputs)
        if not names:
            raise ValueError(f"subscribe to at least one output of module {module!r}")
        subscription = QueueSubscription([self.channel(module, name) for name in names], max_pending)
        self._subscriptions = [s for s in self._subscriptions if not s.closed] + [subscription]
        return subscription

    def close_all(self) -> None:
        """End every subscription (the cluster is closing)."""
        for subscription in self._subscriptions:
            subscription.close()
        self._subscriptions.clear()


def publish_all(emitted: list[tuple[OutputChannel, bytes]]) -> None:
    """Publish a committed round's events in emit order."""
    for channel, payload in emitted:
        channel.publish(payload)
