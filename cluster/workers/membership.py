"""Group membership of a worker: one aiokafka consumer in group `NAMESPACE.workers`, for assignment only.

The consumer subscribes to the coordination topic `NAMESPACE.workers` (one partition per task, no records)
with `TaskAssignor`; it never commits offsets to Kafka (PState offsets live in RocksDB) and never gets a
record. Each completed rebalance calls `on_change(owned tasks, routing table)`; the worker reconciles its
task hosts with it in the background, so the coordinator's callbacks stay short.

The consumer runs on an event loop of its own (`LoopThread`), not the worker's main loop, and `on_change` is
called on that thread. Why: topology code runs on the main loop and may block it on a read of another
worker's task (`cluster.workers.reads`); after a worker dies, such reads wait out their timeout, and a
consumer on that loop would miss its heartbeats and join the rebalance late, which is what made the Mastodon
modules' failover slow (docs/kafka.md, "Chaos test"). On its own loop it heartbeats and rejoins on time.

Timeouts measured on tansu 0.6.0 (docs/kafka.md): the first join waits half the session timeout, a member
that stops heartbeating is dropped after the session timeout, then the survivors rebalance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from cluster.workers.assignor import RoutingTable, TaskAssignor
from cluster.workers.concurrency import LoopThread
from cluster.workers.fencing import Lease, renew_on_group_success
from depots.kafka_broker import BrokerSession, ensure_topic

log = logging.getLogger(__name__)

WATCH_S = 0.1  # how often the watchdog looks at the lease

ChangeHandler = Callable[[frozenset[int], RoutingTable], None]


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """The group's timing: how fast a dead worker is noticed, and how often members heartbeat."""

    session_timeout_ms: int = 6_000
    heartbeat_interval_ms: int = 500


def coordination_topic(namespace: str) -> str:
    """The topic whose partition t stands for task t (also the group's id)."""
    return f"{namespace}.workers"


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Turns the coordinator's assignment callback into `on_change(owned, routing)`."""

    def __init__(self, assignor: TaskAssignor, on_change: ChangeHandler, lease: Lease) -> None:
        self._assignor = assignor
        self._on_change = on_change
        self._lease = lease

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to do: a task stays open until an assignment without it arrives (see `Worker`)."""

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Report the tasks this member now owns and the leader's routing table."""
        # The sync that brought this just succeeded. The first one completes inside `consumer.start()`, before
        # the coordinator's requests can be watched, so renew here too (its round trip is within the margin).
        self._lease.renew(time.monotonic())
        owned = frozenset(int(tp.partition) for tp in assigned)
        self._assignor.owned = owned
        routing = self._assignor.routing or RoutingTable(0, {})
        log.info("assigned tasks %s (routing version %d)", sorted(owned), routing.version)
        self._on_change(owned, routing)


class Membership:
    """This worker's seat in the group; `start` joins, `stop` leaves (the survivors then rebalance)."""

    def __init__(
        self,
        session: BrokerSession,
        namespace: str,
        tasks: int,
        address: str,
        on_change: ChangeHandler,
        settings: GroupSettings | None = None,
        standbys: int = 0,
    ) -> None:
        self._session = session
        self._topic = coordination_topic(namespace)
        self._tasks = tasks
        self.assignor = TaskAssignor(address, standbys=standbys)
        self._on_change = on_change
        self._settings = settings or GroupSettings()
        self._consumer: Any = None
        self._poller: asyncio.Task[None] | None = None
        self._thread: LoopThread | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.lease = Lease(self._settings.session_timeout_ms / 1000)  # checked before every write of the worker

    async def start(self) -> None:
        """Create the coordination topic if needed and join the group (the assignment arrives later)."""
        await ensure_topic(self._session, self._topic, self._tasks)  # on the caller's loop: the session's
        self._thread = LoopThread("tusk-membership")
        await self._thread.run(self._join())

    async def _join(self) -> None:
        """Create, subscribe and start the consumer on the membership thread's loop."""
        settings = self._settings
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._session.settings.bootstrap,
            group_id=self._topic,
            partition_assignment_strategy=(self.assignor,),
            enable_auto_commit=False,
            auto_offset_reset="latest",
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            rebalance_timeout_ms=settings.session_timeout_ms,
        )
        self._consumer.subscribe([self._topic], listener=_Listener(self.assignor, self._on_change, self.lease))
        await self._consumer.start()
        renew_on_group_success(self._consumer._coordinator, self.lease)
        self._poller = asyncio.get_running_loop().create_task(self._poll(), name="membership poll")
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_lease(), name="membership lease")

    async def _watch_lease(self) -> None:
        """Drop every task when the lease expires; give them back if a heartbeat of the same generation renews it.

        A new generation (we were dropped, or the group rebalanced) instead brings its own assignment.
        """
        coordinator = self._consumer._coordinator
        fenced_generation: int | None = None
        while True:
            await asyncio.sleep(WATCH_S)
            routing = self.assignor.routing or RoutingTable(0, {})
            if fenced_generation is None:
                if self.assignor.owned and not self.lease.valid():
                    fenced_generation = coordinator.generation
                    log.warning("group lease expired (generation %d): dropping every task", fenced_generation)
                    self._on_change(frozenset(), routing)
            elif self.lease.valid():
                if coordinator.generation == fenced_generation:  # the coordinator never dropped us: still ours
                    log.warning("group lease renewed in generation %d: taking the tasks back", fenced_generation)
                    self._on_change(self.assignor.owned, routing)
                fenced_generation = None

    async def _poll(self) -> None:
        """Keep polling: aiokafka leaves the group of a consumer that stops polling (max poll interval)."""
        while True:
            try:
                await self._consumer.getmany(timeout_ms=1_000)
            except KafkaError as exc:  # the coordinator recovers by itself; keep polling
                log.warning("membership poll failed: %r", exc)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Leave the group (its other members rebalance at once), close the consumer, end the thread."""
        if self._thread is None:
            return
        try:
            await self._thread.run(self._leave())
        finally:
            await self._thread.stop()

    async def _leave(self) -> None:
        for task in (self._watchdog, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._consumer is not None:
            await self._consumer.stop()
