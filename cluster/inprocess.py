"""`InProcessCluster`: every module's tasks in one asyncio process, durable on a local data directory.

Layout of the data directory:

    DATA/<module>/module.meta              the task count the module was first launched with
    DATA/<module>/tasks/<task>/pstates     one RocksDB per task, a column family per PState
    DATA/<module>/depots/<depot>/p<N>/     segment files of each depot partition
    DATA/<module>/microbatch/<topo>.redo   the last cross-task microbatch's redo record

Depots live where the `depots` URL says (`cluster.depot_storage`): segment logs in the data directory by
default, or topics of a Kafka-protocol broker. Reopening a data directory (with the same depots URL) after a
crash resumes every topology from its committed offsets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from cluster.acks import AckTracker
from cluster.client import Ack, AppendResult, ClientPState, ClusterClient, Subscription
from cluster.clock import Clock, SystemClock
from cluster.contexts import EmbeddedReadContext
from cluster.depot_storage import DEFAULT_DEPOTS_URL, open_depot_storage
from cluster.microbatch_runner import MicrobatchRunner
from cluster.outputs import DEFAULT_MAX_PENDING, OutputChannel, Outputs
from cluster.runtime import ModuleRuntime, check_task_count
from cluster.stream_runner import StreamRunner
from cluster.testing import FakeClock, TestControls
from depots.codec import encode_record
from depots.declaration import DepotSpec
from depots.errors import InternalDepotError
from depots.log import AppendReceipt, DepotLog, FsyncPolicy
from pstates.errors import TuskError
from pstates.page_cache import PageCache, shared_cache
from pstates.store import KVStore, open_store
from topology.module import DefinitionError, MicrobatchTopologySpec, Module, ModuleDefinition, StreamTopologySpec

log = logging.getLogger(__name__)

Runner = StreamRunner | MicrobatchRunner


STUCK_AFTER_ATTEMPTS = 5


class TopologyStuckError(TuskError, RuntimeError):
    """A microbatch keeps failing; it is still being retried, but a waiting test should know why."""


class UnknownModuleError(TuskError, KeyError):
    """A module name that this cluster has not launched."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown module"


class UnknownQueryError(TuskError, KeyError):
    """A query name that the module does not declare."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown query"


class RoutedPState:
    """Committed reads of another module's PState, each call sent to the task owning its first argument."""

    def __init__(self, runtime: ModuleRuntime, name: str) -> None:
        runtime.pstate_spec(name)  # validates the name
        self._runtime = runtime
        self._name = name

    def call(self, method: str, key: object, *args: Any, **kwargs: Any) -> Any:
        """Run view method `method(key, ...)` on the owning task."""
        view = self._runtime.committed_view(self._runtime.task_of(key), self._name)
        return getattr(view, method)(key, *args, **kwargs)

    def multi_get(self, keys: list[object]) -> list[Any]:
        """Top-level values of `keys`, one multi-get per owning task."""
        by_task: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            by_task.setdefault(self._runtime.task_of(key), []).append(index)
        out: list[Any] = [None] * len(keys)
        for task, indexes in by_task.items():
            view = self._runtime.committed_view(task, self._name)
            for index, value in zip(indexes, view.multi_get([keys[i] for i in indexes]), strict=True):
                out[index] = value
        return out

    def __getattr__(self, method: str) -> Any:
        def routed(key: object, *args: Any, **kwargs: Any) -> Any:
            return self.call(method, key, *args, **kwargs)

        if not method.startswith("_"):
            setattr(self, method, routed)  # kept: the next `view.method` finds it without `__getattr__`
        return routed


class EmbeddedClientPState(ClientPState):
    """The client's async handle on a PState of the embedded cluster."""

    def __init__(self, routed: RoutedPState) -> None:
        self._routed = routed

    async def call(self, method: str, key: object, *args: Any, **kwargs: Any) -> Any:
        """Run `method` on the owning task."""
        return self._routed.call(method, key, *args, **kwargs)

    async def multi_get(self, keys: list[object]) -> list[Any]:
        """Values of top-level `keys`."""
        return self._routed.multi_get(keys)


class InProcessCluster(ClusterClient):
    """Runs launched modules' topologies as asyncio tasks of this process."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        clock: Clock | None = None,
        store: str = "rocksdb",
        fsync: FsyncPolicy = FsyncPolicy.ALWAYS,
        depots: str = DEFAULT_DEPOTS_URL,
        page_cache: PageCache | None = None,
    ) -> None:
        if store not in ("rocksdb", "memory"):
            raise ValueError(f"store must be 'rocksdb' or 'memory', got {store!r}")
        self.data_dir = Path(data_dir)
        self.clock: Clock = clock or SystemClock()
        self.store_kind = store
        # Decoded pages of the PStates declared with a page cache (`pstates.page_cache`), shared by every module.
        self.page_cache = shared_cache() if page_cache is None else page_cache
        self.fsync = fsync
        self.depot_storage = open_depot_storage(depots, self.data_dir, fsync)
        self.runtimes: dict[str, ModuleRuntime] = {}
        self._routed_pstates: dict[tuple[str, str], RoutedPState] = {}
        self.runners: dict[tuple[str, str], Runner] = {}
        self.acks = AckTracker()
        self.controls = TestControls(self)
        self.outputs = Outputs()
        self._consumers: dict[tuple[str, str], set[str]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._failures: list[BaseException] = []
        self._busy = 0
        self._closed = False
        self._tick_due: dict[tuple[str, str], int] = {}
        self._ticking = False
        if isinstance(self.clock, FakeClock):
            self.clock.on_advance(self._fire_due_ticks)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def launch(self, module: Module | ModuleDefinition, tasks: int = 4) -> ModuleRuntime:
        """Open `module`'s stores and logs on `tasks` tasks (or the count it was first launched with)."""
        definition = module.definition() if isinstance(module, Module) else module
        if definition.name in self.runtimes:
            raise DefinitionError(f"module {definition.name!r} is already launched")
        for other in definition.mirrored_modules():
            if other not in self.runtimes:
                raise DefinitionError(f"module {definition.name!r} mirrors {other!r}: launch {other!r} first")
        directory = self.data_dir / definition.name
        check_task_count(tasks)
        tasks = _remembered_task_count(directory, tasks)
        runtime = await self._new_runtime(definition, tasks, directory)
        self.runtimes[definition.name] = runtime
        self.outputs.declare(definition)
        for spec in definition.streams.values():
            self._start(runtime, self._new_stream_runner(runtime, spec))
        for mspec in definition.microbatches.values():
            self._start(runtime, self._new_microbatch_runner(runtime, mspec))
        self._start_ticks(runtime)
        return runtime

    async def _new_runtime(self, definition: ModuleDefinition, tasks: int, directory: Path) -> ModuleRuntime:
        """Open a module's depot logs and every task's store (a worker's task host opens one task)."""
        logs = await self.depot_storage.open_logs(definition, tasks)
        return ModuleRuntime(definition, tasks, directory, self._open_task_store, logs, page_cache=self.page_cache)

    def _new_microbatch_runner(self, runtime: ModuleRuntime, spec: MicrobatchTopologySpec) -> MicrobatchRunner:
        """The runner of one microbatch topology (a worker's task host persists its plans)."""
        return MicrobatchRunner(self, runtime, spec)

    def _new_stream_runner(self, runtime: ModuleRuntime, spec: StreamTopologySpec) -> StreamRunner:
        """The runner of one stream topology (a worker's task host waits out moving tasks it reads)."""
        return StreamRunner(self, runtime, spec)

    def _open_task_store(self, module: str, task: int) -> KVStore:
        if self.store_kind == "memory":
            return open_store(f"memory://{self.data_dir.resolve()}/{module}/{task}")
        path = self.data_dir / module / "tasks" / str(task) / "pstates"
        path.parent.mkdir(parents=True, exist_ok=True)
        return open_store(f"rocksdb://{path.resolve()}")

    def _start(self, runtime: ModuleRuntime, runner: Runner) -> None:
        self.runners[(runtime.name, runner.name)] = runner
        qualified = f"{runtime.name}/{runner.name}"
        watched: set[int] = set()
        for assignment in runner.assignments:
            if isinstance(runner, StreamRunner):
                self._consumers.setdefault((assignment.depot_module, assignment.depot), set()).add(qualified)
            if id(assignment.log) not in watched:
                watched.add(id(assignment.log))
                assignment.log.add_durable_listener(_waker(runner))
        self._loops.append(asyncio.get_running_loop().create_task(self._drive(runner)))

    async def _drive(self, runner: Runner) -> None:
        """Run `runner` whenever a source partition has durable records and it is not paused."""
        module = runner.runtime.name
        try:
            while not self._closed:
                await runner.wake.wait()
                runner.wake.clear()
                while not self._closed:
                    await self.controls.wait_unpaused(module, runner.name)
                    self._busy += 1
                    try:
                        progressed = await runner.run_pass()
                    finally:
                        self._busy -= 1
                    if not progressed:
                        break
                    await asyncio.sleep(0)  # let appenders and other topologies in between passes
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # an engine bug: surface it to waiting tests instead of hanging
            log.exception("topology %s/%s stopped", module, runner.name)
            self._failures.append(exc)
            self.controls.notify()

    async def close(self) -> None:
        """Stop every topology, fail pending acks, flush logs and close stores. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if isinstance(self.clock, FakeClock):
            self.clock.remove_listener(self._fire_due_ticks)
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self.outputs.close_all()
        self.acks.fail_all(TuskError("cluster closed before the record was processed"))
        for runtime in self.runtimes.values():
            await runtime.close()
        await self.depot_storage.close()

    async def __aenter__(self) -> InProcessCluster:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- lookups ---------------------------------------------------------------------------------------

    def runtime(self, module: str | None) -> ModuleRuntime:
        """The launched runtime of `module`."""
        runtime = self.runtimes.get(module or "")
        if runtime is None:
            known = ", ".join(sorted(self.runtimes)) or "none"
            raise UnknownModuleError(f"no module {module!r} is launched (launched: {known})")
        return runtime

    def runner(self, module: str, topology: str) -> Runner:
        """The runner of `module`'s `topology`."""
        runner = self.runners.get((module, topology))
        if runner is None:
            self.runtime(module)
            raise DefinitionError(f"module {module!r} has no topology {topology!r}")
        return runner

    def output_channels(self, module: str) -> dict[str, OutputChannel]:
        """`module`'s output channels by name (what its topologies emit on)."""
        return self.outputs.channels_of(module)

    def routed_pstate(self, module: str, name: str) -> RoutedPState:
        """Synchronous routed reads of `module`'s PState `name` (used by mirrors and the client)."""
        routed = self._routed_pstates.get((module, name))
        if routed is None:  # made once: topologies ask for mirrors per record or page
            routed = self._routed_pstates[(module, name)] = RoutedPState(self.runtime(module), name)
        return routed

    # -- client API ------------------------------------------------------------------------------------

    async def append(self, module: str, depot: str, record: object, ack: Ack = Ack.PROCESSED) -> AppendResult:
        """Append `record` to `module`'s `depot` and wait as `ack` says."""
        runtime, spec, depot_log = self._appendable(module, depot)
        payload = encode_record(record, spec.max_record_bytes, depot)
        receipt = depot_log.append(runtime.partition_for(spec, record, None), payload, self.clock.now_ms())
        if ack is Ack.NONE:
            return AppendResult(receipt.partition, receipt.offset)
        waiter = self._register_ack(module, depot, receipt, ack)
        await receipt.durable
        return AppendResult(receipt.partition, receipt.offset, {} if waiter is None else await waiter)

    async def append_many(
        self, module: str, depot: str, records: Sequence[object], ack: Ack = Ack.PROCESSED
    ) -> list[AppendResult]:
        """Append `records` to `module`'s `depot` in order; every record is encoded before any is written."""
        runtime, spec, depot_log = self._appendable(module, depot)
        max_bytes = spec.max_record_bytes
        payloads = [encode_record(record, max_bytes, depot) for record in records]
        partitions = [runtime.partition_for(spec, record, None) for record in records]
        now_ms = self.clock.now_ms()
        receipts = [depot_log.append(p, payload, now_ms) for p, payload in zip(partitions, payloads, strict=True)]
        if ack is Ack.NONE:
            return [AppendResult(r.partition, r.offset) for r in receipts]
        waiters = [self._register_ack(module, depot, r, ack) for r in receipts]
        for receipt in receipts:  # one group commit resolves most of them: after the first, no suspension
            await receipt.durable
        # Every record is appended and processed; a rejected one is raised after all were awaited.
        results: list[AppendResult] = []
        failure: Exception | None = None
        for receipt, waiter in zip(receipts, waiters, strict=True):
            values: dict[str, Any] = {}
            if waiter is not None:
                try:
                    values = await waiter
                except Exception as exc:  # RecordRejected, RecordFailedError, or the cluster closing
                    failure = failure or exc
            results.append(AppendResult(receipt.partition, receipt.offset, values))
        if failure is not None:
            raise failure
        return results

    def _appendable(self, module: str, depot: str) -> tuple[ModuleRuntime, DepotSpec, DepotLog]:
        """The runtime, spec and log of a depot clients may append to, or a clear error."""
        runtime = self.runtime(module)
        spec, depot_log = runtime.depot(depot)
        if spec.is_internal:
            raise InternalDepotError(
                f"depot {depot!r} of module {module!r} is internal: only its topologies may append to it"
            )
        return runtime, spec, depot_log

    def _register_ack(
        self, module: str, depot: str, receipt: AppendReceipt, ack: Ack
    ) -> asyncio.Future[dict[str, Any]] | None:
        """For `Ack.PROCESSED`, a future of the stream topologies' results (registered before durability)."""
        consumers = self._consumers.get((module, depot)) if ack is Ack.PROCESSED else None
        if not consumers:
            return None
        return self.acks.register((module, depot, receipt.partition), receipt.offset, consumers)

    def pstate(self, module: str, name: str) -> ClientPState:
        """A routed, read-only async handle on `module`'s PState `name`."""
        return EmbeddedClientPState(self.routed_pstate(module, name))

    async def query(self, module: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Invoke `module`'s query `name`."""
        return self.run_query(module, name, args, kwargs)

    async def subscribe(self, module: str, *outputs: str, max_pending: int = DEFAULT_MAX_PENDING) -> Subscription:
        """Receive the events `module` emits on `outputs` after they commit, from now on (bounded, drop-oldest)."""
        self.runtime(module)  # validates the module name
        return self.outputs.subscribe(module, outputs, max_pending)

    def run_query(self, module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> Any:
        """Run `module`'s query `name` on its task(s), synchronously (queries only read)."""
        runtime = self.runtime(module)
        spec = runtime.definition.queries.get(name)
        if spec is None:
            known = ", ".join(sorted(runtime.definition.queries)) or "none"
            raise UnknownQueryError(f"module {module!r} has no query {name!r} (it declares: {known})")
        kwargs = kwargs or {}
        route = spec.route
        if route.fans_out:
            assert route.combine is not None
            contexts = [EmbeddedReadContext(self, runtime, t) for t in range(runtime.tasks)]
            return route.combine([spec.fn(ctx, *args, **kwargs) for ctx in contexts])
        arg = route.task_arg if route.task_arg is not None else route.key_arg or 0
        if len(args) <= arg:
            raise TypeError(f"query {module}/{name} is routed by positional argument {arg}; got {len(args)}")
        task = self._task_arg(runtime, args[arg]) if route.task_arg is not None else runtime.task_of(args[arg])
        return spec.fn(EmbeddedReadContext(self, runtime, task), *args, **kwargs)

    @staticmethod
    def _task_arg(runtime: ModuleRuntime, task: object) -> int:
        if type(task) is not int or not 0 <= task < runtime.tasks:
            raise ValueError(f"module {runtime.name!r} has tasks 0..{runtime.tasks - 1}; got {task!r}")
        return task

    # -- ticks -----------------------------------------------------------------------------------------

    def _start_ticks(self, runtime: ModuleRuntime) -> None:
        ticks = [spec for spec in runtime.definition.depots.values() if spec.tick_ms]
        now = self.clock.now_ms()
        for spec in ticks:
            assert spec.tick_ms is not None
            self._tick_due[(runtime.name, spec.name)] = now + spec.tick_ms
        if ticks and not self._ticking and not isinstance(self.clock, FakeClock):
            self._ticking = True  # one loop serves every module's tick depots
            self._loops.append(asyncio.get_running_loop().create_task(self._tick_loop()))

    async def _tick_loop(self) -> None:
        while not self._closed:
            now = self.clock.now_ms()
            wait = min(self._tick_due.values()) - now
            if wait > 0:
                await self.clock.sleep_ms(wait)
            self._fire_due_ticks(self.clock.now_ms())

    def _fire_due_ticks(self, now_ms: int) -> None:
        """Append the time to every partition of each tick depot whose interval has elapsed."""
        for (module, depot), due in list(self._tick_due.items()):
            if due > now_ms:
                continue
            runtime = self.runtimes[module]
            spec, depot_log = runtime.depot(depot)
            assert spec.tick_ms is not None
            for partition in self._tick_partitions(runtime, depot_log):
                depot_log.append(partition, encode_record(now_ms), now_ms)
            self._tick_due[(module, depot)] = now_ms + spec.tick_ms

    def _tick_partitions(self, runtime: ModuleRuntime, depot_log: DepotLog) -> Iterable[int]:
        """The partitions of a tick depot this process ticks: all of them embedded."""
        return range(depot_log.partitions)

    # -- for controls ----------------------------------------------------------------------------------

    async def flush_logs(self) -> None:
        """Wait until every appended record of every depot is durable."""
        for runtime in self.runtimes.values():
            for depot_log in runtime.logs.values():
                await depot_log.flush()

    def quiescent(self) -> bool:
        """Whether no topology pass is running right now."""
        return self._busy == 0

    def raise_failures(self) -> None:
        """Re-raise the first failure of a topology loop, or of a microbatch that keeps failing."""
        if self._failures:
            raise self._failures[0]
        for (module, name), runner in self.runners.items():
            failing = getattr(runner, "failing", None)
            if failing is not None and failing[0] >= STUCK_AFTER_ATTEMPTS:
                raise TopologyStuckError(
                    f"microbatch {module}/{name} failed {failing[0]} times in a row; last error: {failing[1]!r}"
                ) from failing[1]

    def describe_backlog(self) -> str:
        """Backlog per topology, for timeout messages."""
        return ", ".join(f"{m}/{t}: {r.backlog()}" for (m, t), r in self.runners.items()) or "no topologies"


def _waker(runner: Runner) -> Callable[[int, int], None]:
    """A durable listener that wakes `runner` when its source gets new durable records."""

    def wake(_partition: int, _durable_end: int) -> None:
        runner.wake.set()

    return wake


def _remembered_task_count(directory: Path, tasks: int) -> int:
    """Record the task count on first launch; refuse a different one later (no resharding yet)."""
    meta = directory / "module.meta"
    if meta.exists():
        stored = int(json.loads(meta.read_text())["tasks"])
        if stored != tasks:
            raise DefinitionError(
                f"{directory.name} was launched with {stored} tasks; relaunch it with {stored} (got {tasks})"
            )
        return stored
    directory.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"tasks": tasks}))
    return tasks
