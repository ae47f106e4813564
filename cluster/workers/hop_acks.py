"""`Ack.PROCESSED` on workers covers the round's hops: read-your-writes across tasks, as embedded.

Embedded, a stream round runs its hops inline, so `PROCESSED` means every task the record touched has
committed. On workers a hop to another task is a record on the topology's hop topic, applied by the
target's owner later. So a stream runner on a task host (`WorkerStreamRunner`) holds a committed group's
acknowledgement until every hop record of its round is *settled* on its target, and answers the same
question for the groups it applied:

* a hop record at offset X of hop partition P is settled on its target when the target committed past X
  and the group holding X has settled its own hops in turn (chains of steps: follow -> followee ->
  follower bucket). Settlement is per group, not a prefix of the partition: a group waits only for the
  groups that apply its hops, which start later, so the waits form no cycle.
* the owner asks each target for the highest offset it sent per partition: a sibling task host directly,
  another worker by `POST /hops_settled` (a long poll answered from the target's main loop).
* bounded: after `SETTLE_BOUND_S` the acknowledgement is given anyway (logged): the record *is*
  committed on its own task, and a rebalance must not turn a processed record into an error.

A task that moved keeps no memory of unsettled groups: its new owner counts committed offsets as settled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from cluster.workers.assignor import RoutingTable
from cluster.workers.rpc import MSGPACK, answering, pack, unpack
from cluster.workers.task_host import NotOwnedError

if TYPE_CHECKING:
    from cluster.workers.task_host import TaskHost

SETTLE_BOUND_S = 10.0  # how long an acknowledgement waits for its round's hops before it is given anyway
LONG_POLL_S = 2.0  # one remote wait; the owner asks again until the bound
RETRY_S = 0.05

log = logging.getLogger(__name__)


class HopSettlement:
    """A worker's waits for hop records to settle on their targets: sibling task hosts or other workers."""

    def __init__(self, hosts: Mapping[int, TaskHost], routing: Callable[[], RoutingTable]) -> None:
        self._hosts = hosts
        self._routing = routing
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session (on the main loop that opened it)."""
        if self._http is not None:
            await self._http.close()

    async def wait(self, module: str, topology: str, tasks: int, hops: list[tuple[int, int]]) -> bool:
        """Wait until every (partition, offset) hop record is settled on its target; False past the bound."""
        highest: dict[int, int] = {}
        for partition, offset in hops:
            highest[partition] = max(offset, highest.get(partition, -1))
        deadline = time.monotonic() + SETTLE_BOUND_S
        waits = [self._wait_one(module, topology, p % tasks, p, o, deadline) for p, o in highest.items()]
        settled = await asyncio.gather(*waits)
        if not all(settled):
            log.warning("%s/%s: hops %s not settled within %g s", module, topology, highest, SETTLE_BOUND_S)
        return all(settled)

    async def _wait_one(
        self, module: str, topology: str, target: int, partition: int, offset: int, deadline: float
    ) -> bool:
        body = {"module": module, "topology": topology, "partition": partition, "offset": offset, "task": target}
        while (remaining := deadline - time.monotonic()) > 0:
            body["timeout_s"] = poll_s = min(LONG_POLL_S, remaining)
            host = self._hosts.get(target)
            try:
                if host is not None:
                    if await host.hops_settled_here(module, topology, partition, offset, poll_s):
                        return True
                    continue
                address = self._routing().owners.get(target)
                if address is not None and await self._ask(address, body):
                    return True
                if address is not None:
                    continue
            except (NotOwnedError, _Unanswered):
                pass  # moving: ask the next owner
            await asyncio.sleep(RETRY_S)  # no owner known yet: the routing table is being updated
        return False

    async def _ask(self, address: str, body: dict[str, Any]) -> bool:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=LONG_POLL_S + 5))
        try:
            async with self._http.post(
                f"http://{address}/hops_settled", data=pack(body), headers={"Content-Type": MSGPACK}
            ) as response:
                if response.status != 200 or response.content_type != MSGPACK:
                    raise _Unanswered
                return bool(unpack(await response.read())["value"])
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Unanswered from exc


class _Unanswered(Exception):
    """The target's owner did not answer (not the owner, gone): ask again."""


def add_hop_routes(
    app: web.Application, host_of: Callable[[int], TaskHost | None], main_loop: asyncio.AbstractEventLoop
) -> web.Application:
    """Add `/hops_settled` to a worker's RPC app: a long poll answered on the main loop."""

    async def settled_on_main(body: dict[str, Any]) -> object:
        async def settled() -> bool:
            host = host_of(int(body["task"]))
            if host is None:
                raise NotOwnedError(f"task {body['task']} is not served here")
            args = (body["module"], body["topology"], int(body["partition"]), int(body["offset"]))
            return await host.hops_settled_here(*args, float(body["timeout_s"]))

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(settled(), main_loop))

    app.router.add_post("/hops_settled", answering(settled_on_main))
    return app
