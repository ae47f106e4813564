"""`LocalWorkersCluster`: the distributed runtime in one process, with the embedded cluster's surface, for tests.

The module behaviour suites drive a cluster through `launch`, `append`, `append_many`, `pstate`, `query`,
`subscribe`, `controls` and a `FakeClock`. This cluster offers the same, over the real worker machinery:

* `workers` (default 2) `StaticWorker`s, each a `cluster.workers.worker.Worker` with its own broker session,
  its RPC server on a thread of its own (`cluster.workers.front`), its cross-task reads and hop settlement;
* task t of every module runs on a `TaskHost` of worker `t % workers` (task hosts of one worker read each
  other in-process, those of different workers over blocking HTTP, as between processes);
* depots and hop topics on the session's Kafka broker; appends, queries, PState reads and subscriptions go
  through a `WorkerClient` over the workers' RPC, as `tusk api` sends them.

What differs from `tusk worker` processes, and why: the assignment is *static* (task t -> worker t % n, one
routing table published once per launch), not decided by a consumer group: group membership, rebalances and
failover are what the worker subprocess tests cover (tests/workers), and a group join costs seconds per
cluster. Every worker shares the test's event loop (each still answers reads from its own RPC thread and
read pool, so the blocking cross-task reads cannot deadlock) and the test's `FakeClock`: `ctx.time_ms` and
tick depots follow `clock.advance` on every task host. Modules launch one by one, as embedded (a worker
process launches its whole list on each task it gains).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from cluster.client import Ack, AppendResult, ClientPState, ClusterClient, Subscription
from cluster.clock import Clock, SystemClock
from cluster.depot_storage import DepotStorage, KafkaStorage
from cluster.inprocess import UnknownModuleError, UnknownQueryError
from cluster.outputs import DEFAULT_MAX_PENDING
from cluster.runtime import ModuleRuntime
from cluster.testing import FakeClock
from cluster.workers.assignor import RoutingTable
from cluster.workers.changelog import CHANGELOG_DEPOT
from cluster.workers.client import WorkerClient
from cluster.workers.front import FrontServer
from cluster.workers.local_views import WorkersControls, WorkersRuntimeView
from cluster.workers.output_stream import OutputForwarder
from cluster.workers.rpc import worker_app
from cluster.workers.task_host import TaskHost
from cluster.workers.worker import Worker, routing_topic
from depots.errors import InternalDepotError
from depots.kafka_broker import ensure_topic
from depots.kafka_log import KafkaDepotLog
from depots.log import DepotLog
from pstates.errors import TuskError
from topology.module import Module

DEFAULT_WORKERS = 2


class LocalTaskHost(TaskHost):
    """A task host whose topologies stamp, and whose tick depots tick, on the cluster's clock."""

    def __init__(self, data_dir: Path, task: int, storage: DepotStorage, clock: Clock) -> None:
        super().__init__(data_dir, task, storage)
        self.clock = clock
        if isinstance(clock, FakeClock):  # as `InProcessCluster.__init__` does for its own clock
            clock.on_advance(self._fire_due_ticks)


class SplitStorage(DepotStorage):
    """Declared depots from another cluster's namespace (a replay reads its depots); hop topics as the stores say.

    A module whose task stores came with the data directory (copied from the live cluster) continues that
    cluster's consumption of its hop topics, so it reads them where the live one wrote them; a module
    replayed from scratch sends and reads hops of its own, in the worker's namespace, or it would apply the
    live cluster's hops and its own.
    """

    def __init__(self, depots: DepotStorage, own: DepotStorage) -> None:
        self.depots = depots
        self.own = own
        self.continued: set[str] = set()  # modules whose stores were there before they launched here

    async def open_log(self, module: str, depot: str, partitions: int) -> DepotLog:
        """A declared depot from `depots`; a hop topic or changelog from `own` unless the module continued."""
        internal = depot.startswith("~hops.") or depot == CHANGELOG_DEPOT
        storage = self.own if internal and module not in self.continued else self.depots
        return await storage.open_log(module, depot, partitions)

    async def close(self) -> None:
        """Close the depots' session (the worker closes its own)."""
        await self.depots.close()


class StaticWorker(Worker):
    """A worker told its tasks by the cluster (no consumer group); modules are launched on it one by one."""

    def __init__(self, broker_url: str, data_dir: Path, depots_namespace: str | None) -> None:
        super().__init__(broker_url, data_dir, [], 0)
        bootstrap = self.storage.settings.bootstrap
        depots = KafkaStorage(bootstrap, depots_namespace) if depots_namespace is not None else None
        self.host_storage: DepotStorage = SplitStorage(depots, self.storage) if depots is not None else self.storage

    async def start(self) -> None:
        """Serve RPC (reads, appends, hop settlement, output streams); join no group."""
        session = await self.storage.session()
        await ensure_topic(session, routing_topic(self.storage.namespace), 1)
        main_loop = asyncio.get_running_loop()
        outputs = self.outputs = OutputForwarder([], main_loop)
        self._front = FrontServer(
            lambda pool: self._extra_routes(
                worker_app(self.hosts.get, lambda: self.routing.encode(), main_loop, pool, outputs.install), main_loop
            )
        )
        self.address = await self._front.start()

    def continues(self, module: str) -> None:
        """Say that `module`'s stores came with the data directory (see `SplitStorage`)."""
        if isinstance(self.host_storage, SplitStorage):
            self.host_storage.continued.add(module)

    async def host(self, task: int, module: Module, tasks: int, clock: Clock) -> TaskHost:
        """Launch `module` on this worker's task host of `task` (opened on first use)."""
        host = self.hosts.get(task)
        if host is None:
            host = LocalTaskHost(self.data_dir, task, self.host_storage, clock)
            host.reads = self.reads
            host.hop_settlement = self.settlement
            self.hosts[task] = host
        await host.launch(copy.deepcopy(module), tasks)  # a copy per task, as a worker process launches them
        assert self.outputs is not None
        self.outputs.declare(module)
        self.outputs.module_launched(task, host)
        return host

    async def publish(self, routing: RoutingTable) -> None:
        """Adopt `routing` and publish it for clients."""
        self.routing = routing
        await self._publish_routing()

    async def stop(self) -> None:
        """Stop as a worker does, then close the replayed depots' session if there is one."""
        await super().stop()
        if isinstance(self.host_storage, SplitStorage):
            await self.host_storage.close()


class HopDoorbell:
    """Tells a hop's target at once that its source sent hop records, instead of at the target's next poll.

    Between processes a target learns hop records by polling the broker every `HOP_POLL_S` (that poll still
    runs here); in one process the source's log knows when its hops are durable, and a refresh of the
    target's log (one broker request) wakes its runner. The records still travel through the broker. This
    only takes the poll interval out of every hop of every `PROCESSED` wait, which the suites make thousands of.
    """

    def __init__(self, hosts: Callable[[], dict[int, TaskHost]]) -> None:
        self._hosts = hosts
        self._ringing: set[asyncio.Task[None]] = set()
        self._closed = False

    def watch(self, host: TaskHost, module: str) -> None:
        """Ring the targets of every hop topic of `module` on `host`."""
        runtime = host.runtime(module)
        for name, log in runtime.logs.items():
            if name.startswith("~hops."):
                log.add_durable_listener(self._ring_for(module, name, runtime.tasks))

    def _ring_for(self, module: str, name: str, tasks: int) -> Callable[[int, int], None]:
        def ring(partition: int, _durable_end: int) -> None:
            target = self._hosts().get(partition % tasks)
            if self._closed or target is None or module not in target.runtimes:
                return
            ringing = asyncio.get_running_loop().create_task(_refresh(target.runtime(module).logs[name], partition))
            self._ringing.add(ringing)
            ringing.add_done_callback(self._ringing.discard)

        return ring

    async def close(self) -> None:
        """Ring no more; let the refreshes in flight finish (one request each: not cancelled mid-request)."""
        self._closed = True
        await asyncio.gather(*self._ringing, return_exceptions=True)


async def _refresh(log: DepotLog, partition: int) -> None:
    """Learn `partition`'s end; a failure is harmless (the target's own poll tries again)."""
    if isinstance(log, KafkaDepotLog):
        with contextlib.suppress(TuskError, KafkaError, OSError):
            await log.refresh(partition)


class LocalWorkersCluster(ClusterClient):
    """Tasks on `workers` in-process workers over a Kafka broker; see the module docstring."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        bootstrap: str,
        namespace: str,
        depots_namespace: str | None = None,
        clock: Clock | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.clock: Clock = clock or SystemClock()
        self.broker_url = f"kafka://{bootstrap}/{namespace}"
        other = depots_namespace if depots_namespace != namespace else None
        self.workers = [StaticWorker(self.broker_url, self.data_dir, other) for _ in range(workers)]
        self.controls = WorkersControls(self._all_hosts)
        self._client = WorkerClient(self.broker_url, [], 0)
        self._modules: dict[str, Module] = {}
        self._views: dict[str, WorkersRuntimeView] = {}
        self._routing = RoutingTable(0, {})
        self._doorbell = HopDoorbell(self._hosts_by_task)
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker's RPC server and the client. Idempotent."""
        if self._started:
            return
        self._started = True
        await asyncio.gather(*(worker.start() for worker in self.workers))
        await self._client.start()

    async def launch(self, module: Module, tasks: int = 4) -> ModuleRuntime:
        """Launch `module`'s task t on worker t % workers, for every task; return its runtime over them."""
        await self.start()
        if not isinstance(module, Module):
            raise TypeError("the workers runtime launches Module instances (each task host gets its own copy)")
        await self._route(tasks)
        if (self.data_dir / module.name / "tasks").exists():  # before any task host creates it
            for worker in self.workers:
                worker.continues(module.name)
        # All tasks at once: a task host opens every depot and hop topic of its own (as a worker process does),
        # one broker round trip per partition, so opening them one after another took seconds per module.
        hosting = [
            self.workers[task % len(self.workers)].host(task, module, tasks, self.clock) for task in range(tasks)
        ]
        await asyncio.gather(*hosting)
        for host in self._hosts_by_task().values():
            if module.name in host.runtimes:
                self._doorbell.watch(host, module.name)
        self._modules[module.name] = module
        self._client.add_module(module, tasks)
        return self.runtime(module.name)

    async def _route(self, tasks: int) -> None:
        """Publish a routing table covering `tasks` tasks if the current one does not."""
        if len(self._routing.owners) >= tasks:
            return
        owners = {t: self.workers[t % len(self.workers)].address for t in range(tasks)}
        self._routing = RoutingTable(self._routing.version + 1, owners)
        for worker in self.workers:
            await worker.publish(self._routing)
        self._client.routing = self._routing

    async def close(self) -> None:
        """Close the client, then stop every worker (their task hosts, RPC servers and broker sessions)."""
        if not self._started:
            return
        self._started = False
        await self._client.close()
        await self._doorbell.close()
        for worker in self.workers:
            await worker.stop()

    async def __aenter__(self) -> LocalWorkersCluster:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- what tests look at ----------------------------------------------------------------------------

    def _all_hosts(self) -> list[TaskHost]:
        return [host for worker in self.workers for host in worker.hosts.values()]

    def _hosts_by_task(self) -> dict[int, TaskHost]:
        return {host.task: host for host in self._all_hosts()}

    def runtime(self, module: str | None) -> ModuleRuntime:
        """`module`'s runtime over every task host (UnknownModuleError, as embedded, if not launched)."""
        if module is None or module not in self._modules:
            known = ", ".join(sorted(self._modules)) or "none"
            raise UnknownModuleError(f"no module {module!r} is launched (launched: {known})")
        view = self._views.get(module)
        if view is None:
            view = self._views[module] = WorkersRuntimeView(self._hosts_by_task(), module)
        return view

    # -- client API: through the workers' RPC ----------------------------------------------------------

    async def append(self, module: str, depot: str, record: object, ack: Ack = Ack.PROCESSED) -> AppendResult:
        """Append through the worker owning the record's partition, as `tusk api` does."""
        self._check_appendable(module, depot)
        return await self._client.append(module, depot, record, ack)

    async def append_many(
        self, module: str, depot: str, records: Sequence[object], ack: Ack = Ack.PROCESSED
    ) -> list[AppendResult]:
        """Append `records` with one request per owning task."""
        self._check_appendable(module, depot)
        return await self._client.append_many(module, depot, records, ack)

    def _check_appendable(self, module: str, depot: str) -> None:
        """The embedded cluster's errors for an unknown module or depot, or an internal depot."""
        spec, _ = self.runtime(module).depot(depot)
        if spec.is_internal:
            raise InternalDepotError(
                f"depot {depot!r} of module {module!r} is internal: only its topologies may append to it"
            )

    def pstate(self, module: str, name: str) -> ClientPState:
        """A handle whose reads go to the worker owning each key's task."""
        self.runtime(module).pstate_spec(name)  # the embedded cluster's errors for unknown names
        return self._client.pstate(module, name)

    async def query(self, module: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run `module`'s query on the owning task(s), through the client."""
        queries = self.runtime(module).definition.queries
        if name not in queries:
            known = ", ".join(sorted(queries)) or "none"
            raise UnknownQueryError(f"module {module!r} has no query {name!r} (it declares: {known})")
        return await self._client.query(module, name, *args, **kwargs)

    async def subscribe(self, module: str, *outputs: str, max_pending: int = DEFAULT_MAX_PENDING) -> Subscription:
        """Receive `module`'s outputs from every worker, merged by the client."""
        self.runtime(module)
        return await self._client.subscribe(module, *outputs, max_pending=max_pending)
