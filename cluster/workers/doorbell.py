"""A doorbell for hops between workers: the target polls the broker as soon as a hop is durable, not up to
`HOP_POLL_S` later.

No durable listener fires in another process, so a task host learns hop records from a source on another
worker by polling (`TaskHost._poll_hops`, every `HOP_POLL_S`). Each hop then waited half a poll on average
before its target even asked. Now the source's worker, once a group of hops is durable (the moment the
source may commit, and the moment a sibling on the same worker gets them in memory: `local_hops`), posts
`/hop_doorbell` with the target tasks to their owner, whose task hosts poll at once.

The doorbell carries no records and changes no guarantee: the target still reads the hops from the broker,
from its own durable ends, and a lost or late ring costs only the wait it would have had anyway (the poll
goes on). Rings to one worker are coalesced: at most one request in flight, the tasks rung meanwhile go
in the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from cluster.workers.assignor import RoutingTable
from cluster.workers.rpc import MSGPACK, answering, pack

if TYPE_CHECKING:
    from cluster.workers.task_host import TaskHost

RING_TIMEOUT_S = 2.0

log = logging.getLogger(__name__)


class HopDoorbell:
    """Rings the owners of hop targets on other workers (on the worker's main loop)."""

    def __init__(self, routing: Callable[[], RoutingTable], own_address: Callable[[], str]) -> None:
        self._routing = routing
        self._own_address = own_address
        self._pending: dict[str, set[int]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._http: aiohttp.ClientSession | None = None

    def ring(self, task: int) -> None:
        """Tell `task`'s owner, if it is another worker, that a hop for it is durable."""
        address = self._routing().owners.get(task)
        if address is None or address == self._own_address():
            return  # no owner known (it polls once it opens), or a sibling: handed over in memory
        self._pending.setdefault(address, set()).add(task)
        if address not in self._senders:
            sender = asyncio.get_running_loop().create_task(self._send(address))
            self._senders[address] = sender
            sender.add_done_callback(lambda _: self._senders.pop(address, None))

    async def _send(self, address: str) -> None:
        while tasks := self._pending.pop(address, None):
            if self._http is None:
                self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RING_TIMEOUT_S))
            body = pack({"tasks": sorted(tasks)})
            try:
                async with self._http.post(
                    f"http://{address}/hop_doorbell", data=body, headers={"Content-Type": MSGPACK}
                ) as response:
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:  # the target polls anyway
                log.debug("ringing %s for tasks %s failed: %r", address, sorted(tasks), exc)

    async def close(self) -> None:
        """Stop ringing and close the HTTP session (on the main loop that opened it)."""
        for sender in list(self._senders.values()):
            sender.cancel()
        await asyncio.gather(*self._senders.values(), return_exceptions=True)
        if self._http is not None:
            await self._http.close()


def add_doorbell_routes(
    app: web.Application, host_of: Callable[[int], TaskHost | None], main_loop: asyncio.AbstractEventLoop
) -> web.Application:
    """Add `/hop_doorbell` to a worker's RPC app: wake the hop polls of the tasks named, on the main loop."""

    def ring(tasks: list[int]) -> None:
        for task in tasks:
            host = host_of(task)
            if host is not None:
                host.ring_hops()

    async def doorbell(body: dict[str, Any]) -> object:
        main_loop.call_soon_threadsafe(ring, [int(task) for task in body["tasks"]])
        return True

    app.router.add_post("/hop_doorbell", answering(doorbell))
    return app
