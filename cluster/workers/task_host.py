"""One task of every hosted module, run by a worker: the embedded engine restricted to the task it owns.

A `TaskHost` is an `InProcessCluster` whose modules open a single task's RocksDB store (task t: partition t
of each depot, `p % tasks == t`) and whose topologies consume only that task's partitions, from the offsets
committed in that store. Everything else is the embedded engine unchanged: the runners, the `WriteBatch`
holding state and offsets together, acks, controls.

Hops to other tasks travel over one topic per (module, topology) with steps, `NAMESPACE.<module>.<~hops.T>`,
of tasks x tasks partitions: partition `source * tasks + target` has one producer (the owner of the source
task) and one consumer (the owner of the target task), and is read by the target's topology as one more
source. A hop record is `[batch id, sequence, step, payload]`, durable before the source commits. A target
learns new hop records from a source on another worker by polling (one fetch per hop topic every
`HOP_POLL_S`, its records cached for the read; at once when rung: `cluster.workers.doorbell`), and from a
source on this worker at once: the source's log hands them over as soon as they are durable
(`cluster.workers.local_hops`).

* Stream topologies: at-least-once, like every stream effect (a source that crashes before its commit
  sends the hop again); the target applies every hop record.
* Microbatch topologies: exactly-once. The target keeps, per source task, the last (batch id, sequence) it
  applied, in the same `WriteBatch` as its PState writes and hop offsets, and skips anything not above it.
  That is only sound if a source that retries batch N after a crash sends the *same* hops: so a microbatch
  that can hop persists its plan (batch id and end offsets, a synced write in its own store) before running,
  and a restart, here or on another worker, replays that plan instead of planning afresh.

The task's store is opened only when its previous owner has closed it: RocksDB's directory lock is the fence
between two workers on one machine (this slice keeps every task's store in a data directory shared by the
workers; other machines need the changelog and checkpoint restore of docs/kafka.md, not built yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
from aiokafka.errors import KafkaError

from cluster.client import Ack, AppendResult
from cluster.contexts import EmbeddedReadContext, EmbeddedTopologyContext, Round
from cluster.depot_storage import DepotStorage
from cluster.inprocess import InProcessCluster
from cluster.microbatch_runner import MicrobatchRunner, PlanItem
from cluster.runtime import ModuleRuntime, RemoteHop, StoreFactory
from cluster.stream_runner import StreamRunner
from cluster.workers.changelog import CHANGELOG_DEPOT, ChangelogStore
from cluster.workers.checkpoints import TaskRecovery
from cluster.workers.concurrency import LockedGlobal, ReadGate
from cluster.workers.local_hops import SAFETY_POLL_EVERY, LocalHops
from cluster.workers.routed import WorkerRoutedPState, run_routed_query
from cluster.workers.task_errors import NotOwnedError as NotOwnedError
from cluster.workers.task_errors import StoreLockedError as StoreLockedError
from cluster.workers.task_errors import TaskUnavailableError as TaskUnavailableError
from cluster.workers.worker_stream import WorkerStreamRunner
from depots.codec import encode_record
from depots.declaration import DepotSpec, internal
from depots.kafka_log import KafkaDepotLog
from depots.log import DepotLog
from pstates.errors import TuskError
from pstates.keycodec import encode_key
from pstates.store import KVStore, open_store
from topology.context import Batch
from topology.module import DepotRef, MicrobatchTopologySpec, ModuleDefinition, StreamTopologySpec, TopologySpec

if TYPE_CHECKING:
    from cluster.workers.hop_acks import HopSettlement
    from cluster.workers.reads import CrossTaskReads

log = logging.getLogger(__name__)

HOP_POLL_S = 0.05  # how often a target asks the broker for hop records of other workers (no listener fires for them)
LOCK_POLL_S = 0.05
READ_DRAIN_S = 30.0  # how long closing waits for reads in flight on the read threads


def task_store_path(data_dir: Path, module: str, task: int) -> Path:
    """Where a worker keeps `module`'s store of `task` (its task host, or a standby replica of it)."""
    return data_dir / module / "tasks" / str(task) / "pstates"


def hop_depot(topology: str) -> str:
    """The internal depot name of a topology's hop topic."""
    return f"~hops.{topology}"


@dataclass(frozen=True, slots=True)
class HopSource:
    """A hop partition this task reads: what `source` sends here on `depot` of `module`."""

    module: str
    depot: str
    log: KafkaDepotLog
    source: int
    partition: int


class TaskRuntime(ModuleRuntime):
    """A module's runtime on one task: its hop topics are extra sources, and other tasks are reached by them."""

    def __init__(
        self,
        definition: ModuleDefinition,
        tasks: int,
        directory: Path,
        open_task_store: StoreFactory,
        logs: dict[str, DepotLog],
        task: int,
    ) -> None:
        super().__init__(definition, tasks, directory, open_task_store, logs, owned=[task])
        self.task = task
        self._hop_specs = {name: DepotSpec(name, internal()) for name in logs if name.startswith("~hops.")}
        self.globals_lock = threading.RLock()  # task globals are shared with the RPC read threads
        self._locked_globals: dict[str, LockedGlobal] = {}
        # (hop partition, offset) of each round's hops, until its runner acknowledges it (cluster.workers.hop_acks)
        self._remote_hops: weakref.WeakKeyDictionary[Round, list[tuple[int, int]]] = weakref.WeakKeyDictionary()

    def task_global(self, task: int, name: str, make_context: Callable[[int], Any]) -> Any:
        """The task global, each method call holding the task's lock (see `cluster.workers.concurrency`)."""
        with self.globals_lock:
            found = self._locked_globals.get(name)
            if found is None:
                value = super().task_global(task, name, make_context)
                found = self._locked_globals[name] = LockedGlobal(value, self.globals_lock)
            return found

    def depot(self, name: str) -> tuple[DepotSpec, DepotLog]:
        """A declared depot, or one of this runtime's hop topics."""
        spec = self._hop_specs.get(name)
        return (spec, self.logs[name]) if spec is not None else super().depot(name)

    def extra_sources(self, topology: TopologySpec) -> dict[DepotRef, Any]:
        """The hop topic of `topology`, read by the step dispatcher of its kind."""
        name = hop_depot(topology.name)
        if name not in self.logs:
            return {}
        if isinstance(topology, MicrobatchTopologySpec):
            return {DepotRef(name): self._batch_hop_handler(topology)}
        assert isinstance(topology, StreamTopologySpec)
        return {DepotRef(name): self._stream_hop_handler(topology)}

    def send_hop(self, round_: Any, topology: str, batch_id: int, time_ms: int, hop: RemoteHop) -> None:
        """Append the hop to partition `source * tasks + target` of the topology's hop topic."""
        assert isinstance(round_, Round)
        sequence = len(round_.receipts)  # deterministic for a deterministic topology replaying a plan
        payload = encode_record([batch_id, sequence, hop.step, hop.payload], depot=hop_depot(topology))
        partition = hop.source * self.tasks + hop.target
        receipt = self.logs[hop_depot(topology)].append(partition, payload, time_ms)
        round_.receipts.append(receipt)
        self._remote_hops.setdefault(round_, []).append((partition, receipt.offset))

    def take_remote_hops(self, round_: Round) -> list[tuple[int, int]]:
        """The (hop partition, offset) of every hop `round_` sent to another task's owner."""
        return self._remote_hops.pop(round_, [])

    def committed_view(self, task: int, name: str) -> Any:
        """This task's committed view; another task's state is on its owner."""
        if task != self.task:
            raise NotOwnedError(f"{self.name} task {task} is not on this task host (task {self.task})")
        return super().committed_view(task, name)

    @staticmethod
    def _stream_hop_handler(topology: StreamTopologySpec) -> Any:
        def run_hop(ctx: EmbeddedTopologyContext, record: list[Any]) -> None:
            _, _, step, payload = record
            topology.steps[step](ctx, payload)

        return run_hop

    def _batch_hop_handler(self, topology: MicrobatchTopologySpec) -> Any:
        def run_hops(ctx: EmbeddedTopologyContext, batch: Batch) -> None:
            source = batch.partition // self.tasks
            key = encode_key(("hop_applied", topology.name, source))
            txn, meta = ctx.engine_txn(), self.meta[self.task]
            raw = txn.get(meta, key)
            last = tuple(msgpack.unpackb(raw)) if raw is not None else (0, -1)
            for batch_id, sequence, step, payload in batch.values:
                if (batch_id, sequence) <= last:
                    continue  # the source retried a batch whose hops this task already applied
                topology.steps[step](ctx, payload)
                last = (batch_id, sequence)
            txn.put(meta, key, msgpack.packb(list(last)))

        return run_hops


class PlannedMicrobatchRunner(MicrobatchRunner):
    """A microbatch runner that persists each batch's plan before running it, and replays it after a restart."""

    def plan(self) -> list[PlanItem]:
        """The stored plan of the next batch if there is one; else a fresh plan, stored first if it may hop."""
        batch_id = self.last_batch_id + 1
        [task] = self.runtime.owned
        store, meta, key = self.runtime.stores[task], self.runtime.meta[task], _plan_key(self.name)
        raw = store.get(meta, key)
        if raw is not None:
            stored_id, ends = msgpack.unpackb(raw, strict_map_key=False)
            if stored_id == batch_id:
                return [(a, a.next_offset, ends[a.meta_key]) for a in self.assignments if a.meta_key in ends]
        fresh = super().plan()
        if fresh and self.spec.steps:
            batch = store.new_batch()
            batch.put(meta, key, msgpack.packb([batch_id, {a.meta_key: end for a, _, end in fresh}]))
            store.write(batch, sync=True)
        return fresh

    async def _run_batch(self, batch_id: int, plan: list[PlanItem]) -> None:
        # Changelog hook: the stored plan must be durable in the changelog before any hop of the batch is
        # sent, or a restore elsewhere could replan the batch differently under the same hop sequence numbers.
        [task] = self.runtime.owned
        store = self.runtime.stores[task]
        if self.spec.steps and isinstance(store, ChangelogStore):
            await store.durable()
        await super()._run_batch(batch_id, plan)


def _plan_key(topology: str) -> bytes:
    return encode_key(("plan", topology))


class SharedStorage(DepotStorage):
    """A worker's depot storage as one task host sees it: closing the host leaves the broker session open."""

    def __init__(self, inner: DepotStorage) -> None:
        self.inner = inner

    async def open_log(self, module: str, depot: str, partitions: int) -> DepotLog:
        """Open the log through the worker's storage."""
        return await self.inner.open_log(module, depot, partitions)

    async def close(self) -> None:
        """Nothing: the worker closes its storage after its last task host."""


class TaskHost(InProcessCluster):
    """Runs task `task` of each launched module on this worker; see the module docstring."""

    def __init__(
        self,
        data_dir: Path,
        task: int,
        storage: DepotStorage,
        lock_wait_s: float = 30.0,
        recovery: TaskRecovery | None = None,
        adopted: dict[str, KVStore] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self.task = task
        self.adopted = adopted or {}  # stores already open at their paths, by module (a promoted standby's)
        self.recovery = recovery  # None: the store is used as found (a data directory shared on one machine)
        self.depot_storage = SharedStorage(storage)  # the worker closes the storage after its last host
        self._lock_wait_s = lock_wait_s
        self._hop_reads: list[HopSource] = []
        self._hop_poller: asyncio.Task[None] | None = None
        self._hop_bell = asyncio.Event()  # rung by the doorbell: hops of another worker are durable
        # Hops between this worker's task hosts are handed over in memory (cluster.workers.local_hops).
        self.local_hops = LocalHops.of(storage)
        self._registered_hops: list[tuple[str, str, KafkaDepotLog]] = []
        # Reads of other tasks (set by the worker); None: they raise NotOwnedError.
        self.reads: CrossTaskReads | None = None
        # Waits for hops to settle on their targets (set by the worker); None: PROCESSED covers this task only.
        self.hop_settlement: HopSettlement | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self._read_gate = ReadGate(lambda: NotOwnedError(f"task {task} is closing on this worker"))

    async def close(self) -> None:
        """Refuse new reads, let the ones in flight on read threads finish, then close as embedded."""
        await self._read_gate.close(READ_DRAIN_S)
        for module, depot, hop_log in self._registered_hops:  # from now on its targets poll what it sends
            self.local_hops.unregister(module, depot, self.task, hop_log)
        for waiting in list(self._settling):  # their appends fail with the others when the acks are failed
            waiting.cancel()
        await super().close()

    def keep(self, waiting: Coroutine[Any, Any, None]) -> None:
        """Run an acknowledgement waiting for hops; cancelled by close()."""
        task = asyncio.get_running_loop().create_task(waiting)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def hops_settled_here(
        self, module: str, topology: str, partition: int, offset: int, timeout_s: float
    ) -> bool:
        """Wait (bounded) until hop record `offset` of `partition` was applied here with its own hops settled."""
        runner = self.runner(module, topology)
        if not isinstance(runner, WorkerStreamRunner):
            raise NotOwnedError(f"{module}/{topology} is not a stream topology of task {self.task}")
        if self._closed:
            raise NotOwnedError(f"task {self.task} is closing on this worker")
        return await runner.wait_settled(hop_depot(topology), partition, offset, timeout_s)

    async def _new_runtime(self, definition: ModuleDefinition, tasks: int, directory: Path) -> ModuleRuntime:
        """Open this task's store (once its last owner let go), the module's depot logs and its hop topics."""
        if self.task >= tasks:
            raise ValueError(f"task {self.task} does not exist: {definition.name} has {tasks} tasks")
        path = task_store_path(self.data_dir, definition.name, self.task)
        store = self.adopted.pop(definition.name, None) or await self._open_store_when_free(path)
        logs: dict[str, DepotLog] = {}
        try:
            logs = await self.depot_storage.open_logs(definition, tasks)
            store = await self._recover_store(definition.name, tasks, store, path, logs)
            for topology in [*definition.streams.values(), *definition.microbatches.values()]:
                if topology.steps:
                    name = hop_depot(topology.name)
                    hop_log = await self.depot_storage.open_log(definition.name, name, tasks * tasks)
                    logs[name] = hop_log
                    if not isinstance(hop_log, KafkaDepotLog):
                        raise TypeError(f"workers keep depots on Kafka, got {type(hop_log).__name__}")
                    self.local_hops.register(definition.name, name, tasks, self.task, hop_log)
                    self._registered_hops.append((definition.name, name, hop_log))
                    sources = [s for s in range(tasks) if s != self.task]
                    self._hop_reads += [
                        HopSource(definition.name, name, hop_log, s, s * tasks + self.task) for s in sources
                    ]
        except BaseException:
            for opened in logs.values():
                await opened.close()
            store.close()
            raise
        runtime = TaskRuntime(definition, tasks, directory, lambda _module, _task: store, logs, self.task)
        if self._hop_reads and self._hop_poller is None:
            self._hop_poller = asyncio.get_running_loop().create_task(self._poll_hops())
            self._loops.append(self._hop_poller)  # cancelled by close() with the topologies
        return runtime

    def _new_microbatch_runner(self, runtime: ModuleRuntime, spec: MicrobatchTopologySpec) -> MicrobatchRunner:
        return PlannedMicrobatchRunner(self, runtime, spec)

    # -- changelog and checkpoints (cluster.workers.changelog / .checkpoints) ------------------------------

    async def _recover_store(
        self, module: str, tasks: int, store: KVStore, path: Path, logs: dict[str, DepotLog]
    ) -> KVStore:
        """With recovery on: bring the store to its changelog's end and log every later commit there."""
        if self.recovery is None:
            return store
        changelog = logs[CHANGELOG_DEPOT] = await self.depot_storage.open_log(module, CHANGELOG_DEPOT, tasks)
        logged = await self.recovery.open(store, path, module, self.task, changelog)
        checkpointer = self.recovery.keep_checkpointing(logged, path, module, self.task)
        self._loops.append(asyncio.get_running_loop().create_task(checkpointer))  # cancelled by close()
        return logged

    async def checkpoint_now(self, module: str) -> str | None:
        """Upload a checkpoint of `module`'s store on this task now; return its S3 key (None: nothing to do)."""
        store = self.runtime(module).stores[self.task]
        if self.recovery is None or not isinstance(store, ChangelogStore):
            return None
        path = self.runtime(module).directory / "tasks" / str(self.task) / "pstates"
        return await self.recovery.checkpoint(store, path, module, self.task)

    async def _changelog_durable(self) -> None:
        """Wait until the changelog holds every commit of this task so far (before acknowledging effects)."""
        for runtime in self.runtimes.values():  # the acknowledged topology may be another hosted module's
            store = runtime.stores.get(self.task)
            if isinstance(store, ChangelogStore):
                await store.durable()

    def _new_stream_runner(self, runtime: ModuleRuntime, spec: StreamTopologySpec) -> StreamRunner:
        return WorkerStreamRunner(self, runtime, spec)

    def _tick_partitions(self, runtime: ModuleRuntime, depot_log: DepotLog) -> Iterable[int]:
        """Only this task's partitions: each task's owner ticks its own (the sole producer of them)."""
        return [p for p in range(depot_log.partitions) if p % runtime.tasks == self.task]

    async def _open_store_when_free(self, path: Path) -> KVStore:
        """Open a task's RocksDB, waiting (bounded) while the previous owner still holds its lock."""
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = asyncio.get_running_loop().time() + self._lock_wait_s
        while True:
            try:
                return open_store(f"rocksdb://{path.resolve()}")
            except Exception as exc:  # rocksdict raises a bare Exception("IO error: ... lock ...")
                if "lock" not in str(exc).lower():
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise StoreLockedError(f"{path} still locked after {self._lock_wait_s:g} s: {exc}") from exc
            await asyncio.sleep(LOCK_POLL_S)

    async def _poll_hops(self) -> None:
        """Learn new hop records written by other workers (their appends fire no listener here).

        One fetch per hop topic and round, its records cached for the topology's read. Sources hosted by
        this worker hand their hops over themselves, so their partitions are polled only every
        `SAFETY_POLL_EVERY` rounds (the first round included: what they sent before this host registered).
        """
        rounds = 0
        while not self._closed:
            everything = rounds % SAFETY_POLL_EVERY == 0
            rounds += 1
            wanted: dict[KafkaDepotLog, list[int]] = {}
            for hop in self._hop_reads:
                if everything or not self.local_hops.is_local(hop.module, hop.depot, hop.source):
                    wanted.setdefault(hop.log, []).append(hop.partition)
            self._hop_bell.clear()  # a ring from now on means records this round may not see: poll again
            polls = [hop_log.poll(partitions) for hop_log, partitions in wanted.items()]
            for hop_log, outcome in zip(wanted, await asyncio.gather(*polls, return_exceptions=True), strict=True):
                if isinstance(outcome, (TuskError, KafkaError, OSError)):  # a broker hiccup: the next poll retries
                    log.warning("task %d: polling hops of %s failed: %r", self.task, hop_log.topic, outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hop_bell.wait(), HOP_POLL_S)

    def ring_hops(self) -> None:
        """Poll hop topics now: another worker made hops for this task durable (`cluster.workers.doorbell`)."""
        self._hop_bell.set()

    # -- requests routed here by the worker ----------------------------------------------------------

    async def append_to(self, module: str, depot: str, partition: int, record: object, ack: Ack) -> AppendResult:
        """Append `record` to `partition` of `module`'s `depot` (a partition of this task) and wait as `ack` says."""
        runtime, spec, depot_log = self._appendable(module, depot)
        if partition % runtime.tasks != self.task or not 0 <= partition < depot_log.partitions:
            raise NotOwnedError(f"{module}/{depot} partition {partition} is not on task {self.task}")
        receipt = depot_log.append(partition, encode_record(record, spec.max_record_bytes, depot), self.clock.now_ms())
        if ack is Ack.NONE:
            return AppendResult(receipt.partition, receipt.offset)
        waiter = self._register_ack(module, depot, receipt, ack)
        await receipt.durable
        results = {} if waiter is None else await waiter
        if waiter is not None:
            await self._changelog_durable()  # PROCESSED: the effects are in the changelog too
        return AppendResult(receipt.partition, receipt.offset, results)

    async def append_many_to(
        self, module: str, depot: str, partitions: list[int], records: list[object], ack: Ack
    ) -> list[AppendResult | Exception]:
        """Append `records` (each to its partition of this task) in order; each result, or the error it got."""
        runtime, spec, depot_log = self._appendable(module, depot)
        for partition in partitions:  # refused before anything is appended: the client may send it elsewhere
            if partition % runtime.tasks != self.task or not 0 <= partition < depot_log.partitions:
                raise NotOwnedError(f"{module}/{depot} partition {partition} is not on task {self.task}")
        payloads = [encode_record(record, spec.max_record_bytes, depot) for record in records]
        now_ms = self.clock.now_ms()
        receipts = [depot_log.append(p, payload, now_ms) for p, payload in zip(partitions, payloads, strict=True)]
        waiters = [None if ack is Ack.NONE else self._register_ack(module, depot, r, ack) for r in receipts]
        if ack is not Ack.NONE:
            for receipt in receipts:  # one group commit makes most of them durable at once
                await receipt.durable
        out: list[AppendResult | Exception] = []
        for receipt, waiter in zip(receipts, waiters, strict=True):
            try:
                values = {} if waiter is None else await waiter
            except Exception as exc:  # RecordRejected or RecordFailedError: that record's answer
                out.append(exc)
                continue
            out.append(AppendResult(receipt.partition, receipt.offset, values))
        if any(w is not None for w in waiters):
            await self._changelog_durable()  # PROCESSED: the effects are in the changelog too
        return out

    def query_here(self, module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run `module`'s query `name` on this task (the caller routed it, and combines fan-outs)."""
        with self._read_gate.reading():
            runtime = self.runtime(module)
            spec = runtime.definition.queries.get(name)
            if spec is None:
                raise KeyError(f"module {module!r} has no query {name!r}")
            return spec.fn(EmbeddedReadContext(self, runtime, self.task), *args, **kwargs)

    def read_pstate(self, module: str, name: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a view method on this task's committed PState `name`."""
        if method.startswith("_"):
            raise AttributeError(f"no PState method {method!r}")
        with self._read_gate.reading():
            view = self.runtime(module).committed_view(self.task, name)
            return getattr(view, method)(*args, **kwargs)

    # -- reads made by code running here: any task ----------------------------------------------------

    def query_task(self, task: int, module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a query on `task`: here, or wherever `reads` finds it."""
        if task == self.task:
            return self.query_here(module, name, args, kwargs)
        if self.reads is None:
            raise NotOwnedError(f"{module} task {task} is not on this task host (task {self.task})")
        return self.reads.query(task, module, name, args, kwargs)

    def read_task_pstate(
        self, task: int, module: str, name: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Run a view method on `task`'s committed PState: here, or wherever `reads` finds it."""
        if task == self.task:
            return self.read_pstate(module, name, method, args, kwargs)
        if self.reads is None:
            raise NotOwnedError(f"{module} task {task} is not on this task host (task {self.task})")
        return self.reads.pstate(task, module, name, method, args, kwargs)

    def routed_pstate(self, module: str, name: str) -> Any:
        """Reads of `module`'s PState `name`, each sent to the task owning its key."""
        return WorkerRoutedPState(self, self.runtime(module), name)

    def run_query(self, module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> Any:
        """Run a query on the task(s) its route names, wherever they run."""
        return run_routed_query(self, module, name, args, kwargs or {})
