"""`WorkerClient.subscribe`: a module's outputs from every worker, merged into one `Subscription`.

Each subscription keeps one output stream (`cluster.workers.output_stream`) open to each worker of the
routing table. The client's routing watcher re-reads the table every `ROUTING_POLL_S` and `sync`s each
subscription to it: a new worker (a scale-out, a restart on a new port) gets a stream, a stream to a worker
that left ends by itself. A worker's stream carries the events of whatever tasks it runs, so a task moving
between two connected workers needs nothing from the client.

Gaps are counted in `dropped`, as embedded: events a worker dropped because this client read too slowly,
and one per stream that broke without the worker's orderly `["end"]` (a killed worker's last events may
never have been sent). The streaming hub closes its connections on a gap, so clients re-fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import aiohttp

from cluster.client import OutputEvent
from cluster.outputs import QueueSubscription
from cluster.workers.output_stream import HEARTBEAT_S
from cluster.workers.rpc import MSGPACK, pack, unpacker

if TYPE_CHECKING:
    from cluster.workers.client import WorkerClient

log = logging.getLogger(__name__)

ROUTING_POLL_S = 1.0  # how often subscribed clients re-read the routing table
READY_BOUND_S = 10.0  # how long `subscribe` waits for each current worker's stream to be attached
SILENCE_BOUND_S = 4 * HEARTBEAT_S  # a stream with no frame (not even a heartbeat) for this long is dead


class WorkerSubscription(QueueSubscription):
    """Events of one module's outputs from every worker, in each task's emit order; gaps in `dropped`."""

    def __init__(self, client: WorkerClient, module: str, outputs: list[str], max_pending: int) -> None:
        super().__init__([], max_pending)
        self._client = client
        self.module = module
        self.outputs = outputs
        self._streams: dict[str, asyncio.Task[None]] = {}
        self.attached: set[str] = set()  # workers whose stream is attached to their task hosts now

    def count_gap(self, events: int) -> None:
        """Record `events` lost events (a worker dropped them, or its stream broke)."""
        self._dropped += events

    async def sync(self, addresses: Iterable[str], *, wait: bool = False) -> None:
        """Open a stream to each of `addresses` not streaming yet; with `wait`, until each is attached."""
        opening: list[asyncio.Future[None]] = []
        for address in addresses:
            if self.closed or address in self._streams:
                continue
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._streams[address] = asyncio.get_running_loop().create_task(self._stream(address, ready))
            opening.append(ready)
        if wait and opening:
            await asyncio.wait(opening, timeout=READY_BOUND_S)  # a worker that does not answer is retried later

    async def aclose(self) -> None:
        """`close`, then wait until every stream task has finished."""
        tasks = list(self._streams.values())
        self.close()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close(self) -> None:
        """Stop every stream and end the iteration (queued events can still be taken)."""
        super().close()
        for task in self._streams.values():
            task.cancel()
        self._streams.clear()
        self._client.forget(self)

    async def _stream(self, address: str, ready: asyncio.Future[None]) -> None:
        try:
            if await self._read(address, ready):
                return
            if ready.done() and not self.closed:
                self.count_gap(1)  # ended without ["end"]: its last events may be lost
                log.warning("output stream from %s broke: counted as a gap", address)
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            if ready.done() and not self.closed:
                self.count_gap(1)
                log.warning("output stream from %s failed (%r): counted as a gap", address, exc)
        finally:
            self.attached.discard(address)
            if not ready.done():
                ready.set_result(None)
            if self._streams.get(address) is asyncio.current_task():
                del self._streams[address]  # the next routing sync reconnects if the worker is still listed

    async def _read(self, address: str, ready: asyncio.Future[None]) -> bool:
        """Read one worker's stream into the queue; True if it ended in order."""
        session = self._client.http
        body = pack({"module": self.module, "outputs": self.outputs})
        timeout = aiohttp.ClientTimeout(total=None, sock_read=SILENCE_BOUND_S)
        headers = {"Content-Type": MSGPACK}
        async with session.post(f"http://{address}/outputs", data=body, headers=headers, timeout=timeout) as response:
            if response.status != 200:
                log.warning("worker %s refused output stream: %s", address, (await response.read())[:200])
                return True
            frames = unpacker()
            async for chunk in response.content.iter_any():
                frames.feed(chunk)
                for frame in frames:
                    if self._apply(address, frame, ready):
                        return True
        return False

    def _apply(self, address: str, frame: list[Any], ready: asyncio.Future[None]) -> bool:
        """Apply one frame; True for the worker's orderly end."""
        kind = frame[0]
        if kind == "event":
            self.push(OutputEvent(self.module, frame[1], frame[2]))
        elif kind == "ready" and not ready.done():
            ready.set_result(None)
            self.attached.add(address)
        elif kind == "dropped":
            self.count_gap(int(frame[1]))
        return bool(kind == "end")
