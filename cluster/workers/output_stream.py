"""Module outputs leaving a worker: one long-lived HTTP response per subscriber, fed by every task it runs.

A client (`WorkerClient.subscribe`) POSTs `/outputs` `{module, outputs}` to every worker of the routing
table. The worker subscribes that stream on each task host it runs and on each it opens later (right after
the module launches there), so a stream follows this worker's tasks across rebalances; the client follows
the set of workers. The response is msgpack values written back to back:

- `["ready"]` once the stream is attached to every task host (what was emitted before is not sent);
- `["event", output, value]` per event, in each task's emit order (no order across tasks, as embedded);
- `["dropped", n]` when the client read too slowly and this stream's queue lost its `n` oldest events;
- `["beat"]` every `HEARTBEAT_S` without events, so each side notices the other is gone;
- `["end"]` when the worker stops cleanly (its task hosts closed first, so every committed event was sent).
  A stream that ends without it may have lost events: the client counts that as a gap.

Threads: task hosts publish on the worker's main loop after a round commits; the stream's queue and its
writer live on the RPC thread's loop (`cluster.workers.front`). A publish hands the event over with
`call_soon_threadsafe` and never waits, so a slow subscriber never holds a topology.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from cluster.client import OutputEvent
from cluster.outputs import OutputChannel, QueueSubscription
from cluster.workers.rpc import BAD_REQUEST, pack, reply, unpack
from topology.module import Module

if TYPE_CHECKING:
    from cluster.workers.task_host import TaskHost

HEARTBEAT_S = 2.0
MAX_PENDING = 10_000  # events queued per stream on the worker before the oldest are dropped (and reported)
STREAM_CONTENT_TYPE = "application/x-msgpack-stream"


class OutputStream:
    """One subscriber's stream: a bounded queue on the RPC loop, fed by one subscription per task host."""

    def __init__(self, module: str, outputs: list[str], loop: asyncio.AbstractEventLoop) -> None:
        self.module = module
        self.outputs = outputs
        self.loop = loop
        self.by_task: dict[int, _Forwarding] = {}  # touched on the main loop only
        self._events: deque[OutputEvent] = deque()
        self._unreported_drops = 0
        self._ready = asyncio.Event()
        self.ending = False  # set on the RPC loop when the worker stops: the writer ends the response

    def attach(self, task: int, host: TaskHost) -> None:
        """Subscribe to `host`'s channels of this stream's outputs (main loop), replacing an older host's."""
        channels = host.outputs.channels_of(self.module)
        if not channels:
            return  # the module is not launched on this host yet: `module_launched` attaches it later
        old = self.by_task.pop(task, None)
        if old is not None:
            old.close()
        self.by_task[task] = _Forwarding([channels[name] for name in self.outputs], self)

    def detach_all(self) -> None:
        """Leave every host's channels (main loop)."""
        for subscription in self.by_task.values():
            subscription.close()
        self.by_task.clear()

    def put(self, event: OutputEvent) -> None:
        """Queue `event` (RPC loop), dropping the oldest one past `MAX_PENDING`."""
        if len(self._events) >= MAX_PENDING:
            self._events.popleft()
            self._unreported_drops += 1
        self._events.append(event)
        self._ready.set()

    def end(self) -> None:
        """Make the writer finish the response (RPC loop)."""
        self.ending = True
        self._ready.set()

    async def next_frames(self) -> bytes:
        """The frames of everything queued, waiting up to `HEARTBEAT_S` (a heartbeat if nothing came)."""
        if not self._events and not self._unreported_drops and not self.ending:
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), HEARTBEAT_S)
        frames = []
        if self._unreported_drops:
            frames.append(pack(["dropped", self._unreported_drops]))
            self._unreported_drops = 0
        while self._events:
            event = self._events.popleft()
            frames.append(pack(["event", event.output, event.value]))
        return b"".join(frames) or pack(["beat"])


class _Forwarding(QueueSubscription):
    """A stream's subscription on one task host: each publish goes straight to the stream's loop."""

    def __init__(self, channels: list[OutputChannel], stream: OutputStream) -> None:
        super().__init__(channels, 1)
        self._stream = stream

    def push(self, event: OutputEvent) -> None:
        """Hand `event` to the stream's loop (never blocks the publishing topology)."""
        if self.closed:
            return
        with contextlib.suppress(RuntimeError):  # the RPC loop already closed: the worker is stopping
            self._stream.loop.call_soon_threadsafe(self._stream.put, event)


class OutputForwarder:
    """A worker's output streams: attaches each to the task hosts and serves `/outputs`."""

    def __init__(self, modules: Sequence[Module], main_loop: asyncio.AbstractEventLoop) -> None:
        self._declared = {definition.name: set(definition.outputs) for definition in (m.definition() for m in modules)}
        self._main_loop = main_loop
        self._hosts: dict[int, TaskHost] = {}  # the newest host of each task (main loop)
        self._streams: set[OutputStream] = set()  # main loop
        self._serving: set[OutputStream] = set()  # RPC loop: the responses being written

    def declare(self, module: Module) -> None:
        """Serve the outputs of `module` too (a cluster that launches modules one by one)."""
        definition = module.definition()
        self._declared[definition.name] = set(definition.outputs)

    def install(self, app: web.Application) -> None:
        """Serve `POST /outputs` on `app`; its shutdown ends every stream (else it would wait for them)."""
        app.router.add_post("/outputs", self.handle)
        app.on_shutdown.append(self._end_streams)

    async def _end_streams(self, _app: web.Application) -> None:
        for stream in self._serving:
            stream.end()

    def module_launched(self, task: int, host: TaskHost) -> None:
        """Attach every stream to a module just launched on `host` (main loop; call after each launch)."""
        self._hosts[task] = host
        for stream in self._streams:  # re-attaching is gapless: publishes run on this same loop
            stream.attach(task, host)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST /outputs: stream `module`'s `outputs` from every task host here until the client leaves."""
        body = unpack(await request.read())
        module, outputs = str(body.get("module")), [str(name) for name in body.get("outputs", [])]
        unknown = [name for name in outputs if name not in self._declared.get(module, set())]
        if not outputs or unknown:
            return reply({"error": f"module {module!r} has no outputs {unknown} here"}, BAD_REQUEST)
        stream = OutputStream(module, outputs, asyncio.get_running_loop())
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._add(stream), self._main_loop))
        self._serving.add(stream)
        try:
            response = web.StreamResponse(headers={"Content-Type": STREAM_CONTENT_TYPE})
            await response.prepare(request)
            await response.write(pack(["ready"]))
            while not stream.ending:
                await response.write(await stream.next_frames())
            await response.write(await stream.next_frames() + pack(["end"]))  # an orderly end: nothing was lost
            await response.write_eof()
            return response
        except ConnectionError:  # the client left: nothing to answer
            return web.Response(status=499)
        finally:
            self._serving.discard(stream)  # the client left (a write failed), or the worker stops (cancelled)
            with contextlib.suppress(RuntimeError):  # the main loop is gone: nothing left to detach from
                self._main_loop.call_soon_threadsafe(self._remove, stream)

    async def _add(self, stream: OutputStream) -> None:
        self._streams.add(stream)
        for task, host in self._hosts.items():
            stream.attach(task, host)

    def _remove(self, stream: OutputStream) -> None:
        self._streams.discard(stream)
        stream.detach_all()
