"""A `tusk worker` process: joins the group, runs the tasks assigned to it, answers routed requests.

Start-up: connect to the broker, listen on 127.0.0.1 for RPC (`cluster.workers.rpc`, served from a thread
of its own: `cluster.workers.front`), join the group with that address (`cluster.workers.membership`, also
on a thread of its own, so heartbeats go on while topology code blocks the main loop on a remote read).
Each assignment updates the wanted task set; a reconciler closes the task hosts no longer wanted *first*
(flushing their logs and releasing their stores' locks, so a new owner can open them), then opens the
gained ones side by side (each waiting for its previous owner's lock), and publishes the routing table on
`NAMESPACE.workers.routing` for clients. A worker that dies without closing (SIGKILL) releases its locks
with its process; the group drops it after the session timeout. With standbys (`cluster.workers.standby`),
a gained task's warm replica stops and hands its open store to the task host.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.depot_storage import KafkaStorage, open_depot_storage
from cluster.workers.assignor import RoutingTable
from cluster.workers.batches import add_batch_routes
from cluster.workers.checkpoints import CheckpointBucket, TaskRecovery
from cluster.workers.doorbell import HopDoorbell, add_doorbell_routes
from cluster.workers.front import FrontServer
from cluster.workers.hop_acks import HopSettlement, add_hop_routes
from cluster.workers.local_hops import LocalHops
from cluster.workers.membership import GroupSettings, Membership, coordination_topic
from cluster.workers.output_stream import OutputForwarder
from cluster.workers.reads import CrossTaskReads
from cluster.workers.rpc import worker_app
from cluster.workers.standby import Standbys
from cluster.workers.task_host import TaskHost
from depots.kafka_broker import ensure_topic
from depots.log import FsyncPolicy
from pstates.store import KVStore
from topology.module import Module

log = logging.getLogger(__name__)

EventSink = Callable[[dict[str, Any]], None]
RETRY_OPEN_S = 0.5


def routing_topic(namespace: str) -> str:
    """The one-partition topic where workers publish each routing table (clients read its tail)."""
    return f"{coordination_topic(namespace)}.routing"


class Worker:
    """One worker process's runtime: membership, task hosts, RPC server."""

    def __init__(
        self,
        broker_url: str,
        data_dir: Path,
        modules: Sequence[Module],
        tasks: int,
        *,
        port: int = 0,
        group: GroupSettings | None = None,
        on_event: EventSink | None = None,
        checkpoints: CheckpointBucket | None = None,
        changelog: bool = False,
        standbys: int = 0,
    ) -> None:
        storage = open_depot_storage(broker_url, data_dir, FsyncPolicy.ALWAYS)
        if not isinstance(storage, KafkaStorage):
            raise ValueError(f"workers need a kafka:// broker URL, got {broker_url!r}")
        self.storage = storage
        self.data_dir = data_dir
        self.modules = list(modules)
        self.tasks = tasks
        self.port = port
        self.group = group or GroupSettings()
        self.hosts: dict[int, TaskHost] = {}
        self.routing = RoutingTable(0, {})
        self.address = ""
        self._emit = on_event or (lambda _event: None)
        # With a changelog (implied by checkpoints), task stores are restored on whichever machine gains them.
        use_changelog = changelog or checkpoints is not None or standbys > 0  # standbys follow the changelog
        self.recovery = TaskRecovery(storage.namespace, checkpoints) if use_changelog else None
        self.standby_count = standbys
        self.standbys = (
            Standbys(storage, data_dir, modules, tasks, TaskRecovery(storage.namespace, checkpoints), self._emit)
            if standbys > 0
            else None
        )
        self._wanted_standbys: frozenset[int] = frozenset()
        self._wanted: frozenset[int] = frozenset()
        self._changed = asyncio.Event()
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._membership: Membership | None = None
        self._front: FrontServer | None = None
        self.reads = CrossTaskReads(self.hosts, lambda: self.routing)
        self.settlement = HopSettlement(self.hosts, lambda: self.routing)
        self.doorbell = HopDoorbell(lambda: self.routing, lambda: self.address)
        LocalHops.of(storage).remote = self.doorbell.ring  # the task hosts' hop logs ring other workers
        self._reconciler: asyncio.Task[None] | None = None
        self.outputs: OutputForwarder | None = None

    async def start(self) -> None:
        """Listen for RPC, then join the group."""
        session = await self.storage.session()
        await ensure_topic(session, routing_topic(self.storage.namespace), 1)
        main_loop = self._main_loop = asyncio.get_running_loop()
        outputs = self.outputs = OutputForwarder(self.modules, main_loop)
        self._front = FrontServer(
            lambda pool: self._extra_routes(
                worker_app(self.hosts.get, lambda: self.routing.encode(), main_loop, pool, outputs.install), main_loop
            ),
            self.port,
        )
        self.address = await self._front.start()
        self._emit({"event": "listening", "address": self.address, "pid": os.getpid()})
        self._reconciler = asyncio.get_running_loop().create_task(self._reconcile(), name="reconcile tasks")
        self._membership = Membership(
            session, self.storage.namespace, self.tasks, self.address, self._on_change, self.group, self.standby_count
        )
        self.storage.fence = self._membership.lease.check  # every log of a task host: no writes by a zombie
        await self._membership.start()

    def _extra_routes(self, app: web.Application, main_loop: asyncio.AbstractEventLoop) -> web.Application:
        """Batched appends, hop settlement and the hop doorbell, beside `worker_app`'s routes."""
        app = add_hop_routes(add_batch_routes(app, self.hosts.get, main_loop), self.hosts.get, main_loop)
        return add_doorbell_routes(app, self.hosts.get, main_loop)

    def _on_change(self, owned: frozenset[int], routing: RoutingTable) -> None:
        """Take a new assignment (called on the membership thread; the main loop may be blocked on a read)."""
        if routing.version >= self.routing.version:  # only this thread writes `routing`
            self.routing = routing  # at once: a read blocking the main loop retries with it
        assert self._main_loop is not None
        self._main_loop.call_soon_threadsafe(self._want, owned, routing.standby_tasks(self.address))

    def _want(self, owned: frozenset[int], standbys: frozenset[int]) -> None:
        """Ask the reconciler (on the main loop) for these tasks and standbys."""
        self._wanted = owned
        self._wanted_standbys = standbys
        self._changed.set()

    async def _reconcile(self) -> None:
        """Make the open task hosts match the wanted tasks, whenever the assignment changes."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            wanted = self._wanted
            for task in sorted(set(self.hosts) - wanted):
                host = self.hosts.pop(task)  # requests now answer "not owner" before the host closes
                try:
                    await host.close()
                except Exception:  # its pending appends already failed; its store closes regardless
                    log.exception("closing task %d failed", task)
            await asyncio.gather(*(self._open_gained(task) for task in sorted(wanted - set(self.hosts))))
            await self._publish_routing()
            self._emit({"event": "serving", "tasks": sorted(self.hosts), "version": self.routing.version})
            if self.standbys is not None:
                await self.standbys.reconcile(self._wanted_standbys - set(self.hosts))

    async def _open_gained(self, task: int) -> None:
        """Open a task gained in this assignment, beside the other gains (their broker round trips overlap)."""
        if task not in self._wanted:
            return
        try:
            warm = await self.standbys.promote(task) if self.standbys is not None else {}
            self.hosts[task] = await self._open_host(task, warm)
        except Exception:  # a store still locked by a zombie owner, a broker hiccup: try again
            log.exception("opening task %d failed; retrying", task)
            self._changed.set()
            await asyncio.sleep(RETRY_OPEN_S)

    async def _open_host(self, task: int, warm: dict[str, KVStore]) -> TaskHost:
        # A recovery of its own (same settings): its restore reports are this task's, whatever opens beside it.
        recovery = dataclasses.replace(self.recovery, reports=[]) if self.recovery is not None else None
        host = TaskHost(self.data_dir, task, self.storage, recovery=recovery, adopted=warm)
        host.reads = self.reads
        host.hop_settlement = self.settlement
        took: dict[str, float] = {}  # seconds per module, logged: opening is most of a failover after the rebalance
        try:
            for module in self.modules:  # a copy per task, as embedded one instance serves one runtime
                started = time.monotonic()
                await host.launch(copy.deepcopy(module), self.tasks)
                if self.outputs is not None:  # output streams follow the task from its first round
                    self.outputs.module_launched(task, host)
                took[module.name] = time.monotonic() - started
        except BaseException:
            for store in host.adopted.values():  # a retry reopens them from disk
                store.close()
            await host.close()
            raise
        slowest = ", ".join(f"{name} {seconds:.2f}" for name, seconds in sorted(took.items(), key=lambda i: -i[1])[:3])
        log.info("opened task %d in %.2f s (slowest: %s)", task, sum(took.values()), slowest)
        for report in recovery.reports if recovery is not None else []:
            self._emit(
                {
                    "event": "restored",
                    "task": task,
                    "source": report.source,
                    "seconds": report.seconds,
                    "records": report.records_replayed,
                }
            )
        return host

    async def _publish_routing(self) -> None:
        session = await self.storage.session()
        await session.producer.send_and_wait(routing_topic(self.storage.namespace), self.routing.encode(), partition=0)

    async def stop(self) -> None:
        """Close every task host, then leave the group, stop listening, close the broker session.

        Hosts close first: their last writes (pending appends, hops, changelog) happen while this worker
        still holds its tasks. Leaving first let a peer gain a task while they were still being written,
        and leaving does not end the lease that fences them.
        """
        if self._reconciler is not None:  # no task opens or closes behind this loop any more
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
        for task in sorted(self.hosts):
            await self.hosts.pop(task).close()
        if self.standbys is not None:
            await self.standbys.close()
        if self._membership is not None:
            await self._membership.stop()
        if self._front is not None:
            await self._front.stop()
        self.reads.close()
        await self.settlement.close()
        await self.doorbell.close()
        await self.storage.close()
