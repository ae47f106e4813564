"""The embedded runtime's implementation of the contexts in `topology.context`, and of one attempt (`Round`).

A `Round` is one attempt at processing a stream group or a microbatch: a `Transaction` per task it touched,
the records its code appended and the output events it emitted. Hops run inline, on the same round, against
the target task's transaction; nothing is visible to readers or subscribers until the round commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cluster.outputs import OutputChannel, UnknownOutputError, publish_all
from cluster.runtime import RemoteHop
from depots.codec import encode_record
from depots.log import AppendReceipt
from pstates.pstate import bind
from pstates.transaction import Transaction
from topology.context import StepNotFoundError
from topology.module import TopologySpec

if TYPE_CHECKING:
    from cluster.inprocess import InProcessCluster
    from cluster.runtime import ModuleRuntime


class Round:
    """One attempt: a transaction per touched task, appended records, after-commit callbacks, emitted events."""

    def __init__(self, runtime: ModuleRuntime) -> None:
        self.runtime = runtime
        self.txns: dict[int, Transaction] = {}
        self.views: dict[int, dict[str, Any]] = {}
        self.receipts: list[AppendReceipt] = []
        self.callbacks: list[Callable[[], None]] = []
        self.emitted: list[tuple[OutputChannel, bytes]] = []  # only events someone was subscribed to
        # Deferred work per (task, name): (accumulator, flush), oldest first. Only a stream runner flushes it.
        self.defers = False
        self.deferred: dict[tuple[int, str], tuple[Any, Callable[[Any, Any], None]]] = {}
        # Whether a hop wrote to its target task's transaction: that task's writes then derive from another
        # task's records, and a microbatch needs its redo record (hops that only gather in-memory effects
        # leave every task's writes its own, so task commits stay independent).
        self.hop_wrote = False

    def txn(self, task: int) -> Transaction:
        """This round's transaction on `task`."""
        txn = self.txns.get(task)
        if txn is None:
            txn = self.txns[task] = Transaction(self.runtime.stores[task])
        return txn

    async def wait_appends_durable(self) -> None:
        """Wait until every record this round appended is durable (before its effects commit)."""
        if self.receipts:
            await asyncio.gather(*(r.durable for r in self.receipts))

    def commit(self, last_task: int | None = None) -> None:
        """Commit every transaction, `last_task`'s last (it holds the consumed offsets)."""
        order = sorted(self.txns, key=lambda t: t == last_task)
        for task in order:
            self.txns[task].commit()
        self.txns.clear()

    def abort(self) -> None:
        """Drop every uncommitted write of this round."""
        for txn in self.txns.values():
            txn.abort()
        self.txns.clear()
        self.views.clear()
        self.callbacks.clear()
        self.emitted.clear()
        self.deferred.clear()

    def after_committed(self) -> None:
        """Run the after-commit callbacks, then publish the emitted events in emit order (each only once)."""
        callbacks, self.callbacks = self.callbacks, []
        emitted, self.emitted = self.emitted, []
        for callback in callbacks:
            callback()
        publish_all(emitted)


class EmbeddedReadContext:
    """Reads on one task: committed PStates, mirrors, task globals."""

    def __init__(self, cluster: InProcessCluster, runtime: ModuleRuntime, task: int) -> None:
        self._cluster = cluster
        self._runtime = runtime
        self._task = task

    @property
    def task(self) -> int:
        """The task this code runs on."""
        return self._task

    @property
    def tasks(self) -> int:
        """Number of tasks of the module."""
        return self._runtime.tasks

    def task_of(self, key: object) -> int:
        """Task owning `key`."""
        return self._runtime.task_of(key)

    def pstate(self, name: str, module: str | None = None) -> Any:
        """This task's committed view of `name`; with `module` (even this one), a view routed by key."""
        if module is not None:
            return self._cluster.routed_pstate(module, name)
        return self._runtime.committed_view(self._task, name)

    def task_global(self, name: str) -> Any:
        """This task's instance of task global `name`."""
        return self._runtime.task_global(self._task, name, self._context_for)

    def query(self, module: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Invoke `module`'s query `name` (committed state of its owning tasks)."""
        return self._cluster.run_query(module, name, args, kwargs)

    def now_ms(self) -> int:
        """The cluster clock's time (queries and task-global factories only)."""
        return self._cluster.clock.now_ms()

    def _context_for(self, task: int) -> EmbeddedReadContext:
        return EmbeddedReadContext(self._cluster, self._runtime, task)


class EmbeddedTopologyContext(EmbeddedReadContext):
    """Context of stream and microbatch code: writes go to the round's transaction on the current task."""

    def __init__(
        self, cluster: InProcessCluster, runtime: ModuleRuntime, topology: TopologySpec, round_: Round
    ) -> None:
        super().__init__(cluster, runtime, 0)
        self._topology = topology
        self._round = round_
        self._outputs = cluster.output_channels(runtime.name)
        self.time_ms_value = 0
        self.offset_value = -1
        self.batch_id_value = 0

    def begin(self, task: int, round_: Round) -> None:
        """Point the context at `task` within `round_`."""
        self._task = task
        self._round = round_

    @property
    def time_ms(self) -> int:
        """Append time of the record being processed."""
        return self.time_ms_value

    def now_ms(self) -> int:
        """Refuse the wall clock in a topology: a replay must compute the same PStates."""
        raise TypeError("topologies read time from ctx.time_ms (the record's append time), not the clock")

    @property
    def offset(self) -> int:
        """Offset of the record being processed (stream topologies)."""
        return self.offset_value

    @property
    def batch_id(self) -> int:
        """Id of the microbatch being processed."""
        return self.batch_id_value

    def pstate(self, name: str, module: str | None = None) -> Any:
        """Writable view of an owned PState (reads see this round's writes), else a committed view.

        With `module` (even this one) the view is routed by key to the owning task's committed state.
        """
        if module is not None:
            return self._cluster.routed_pstate(module, name)
        if name not in self._topology.pstates:
            return self._runtime.committed_view(self._task, name)
        views = self._round.views.setdefault(self._task, {})
        view = views.get(name)
        if view is None:
            txn = self._round.txn(self._task)
            view = views[name] = bind(self._topology.pstates[name], txn, txn)
        return view

    def hop(self, key: object, step: str | Callable[..., Any], payload: object) -> None:
        """Run `step` on the task owning `key`."""
        self.hop_to_task(self._runtime.task_of(key), step, payload)

    def hop_all(self, step: str | Callable[..., Any], payload: object) -> None:
        """Run `step` on every task."""
        for task in range(self._runtime.tasks):
            self.hop_to_task(task, step, payload)

    def hop_to_task(self, task: int, step: str | Callable[..., Any], payload: object) -> None:
        """Run `step(ctx, payload)` on `task`, inline, then come back to the current task."""
        name = self._topology.step_name(step)
        handler = self._topology.steps.get(name)
        if handler is None:
            raise StepNotFoundError(f"topology {self._topology.name!r} declares no step {name!r}")
        if not 0 <= task < self._runtime.tasks:
            raise ValueError(f"task {task} out of range for {self._runtime.tasks} tasks")
        if task not in self._runtime.stores:  # owned by another worker: it travels over the hop topic
            hop = RemoteHop(self._task, task, name, payload)
            self._runtime.send_hop(self._round, self._topology.name, self.batch_id_value, self.time_ms_value, hop)
            return
        here = self._task
        round_ = self._round
        watch = task != here and not round_.hop_wrote
        before = len(round_.txns[task]) if watch and task in round_.txns else 0
        self._task = task
        try:
            handler(self, payload)
        finally:
            self._task = here
        if watch and task in round_.txns and len(round_.txns[task]) > before:
            round_.hop_wrote = True

    def deferred(self, name: str, factory: Callable[[], Any], flush: Callable[[Any, Any], None]) -> Any:
        """This task's accumulator `name` in the current group (made by `factory`), flushed before it commits."""
        if not self._round.defers:
            raise TypeError("deferred work is for stream topologies (a microbatch is already one batch)")
        key = (self._task, name)
        entry = self._round.deferred.get(key)
        if entry is None:
            entry = self._round.deferred[key] = (factory(), flush)
        return entry[0]

    def flush_deferred(self) -> None:
        """Run `flush(ctx, accumulator)` of every pending accumulator, oldest first, each on its own task."""
        deferred = self._round.deferred
        here = self._task
        try:
            while deferred:  # a flush may defer more work (on another task): run until none is left
                key = next(iter(deferred))
                accumulator, flush = deferred.pop(key)
                self._task = key[0]
                flush(self, accumulator)
        finally:
            self._task = here

    def engine_txn(self) -> Transaction:
        """This round's transaction on the current task, for engine bookkeeping (a worker's hop dedup)."""
        return self._round.txn(self._task)

    def append(self, depot: str, record: object) -> None:
        """Append `record` to this module's `depot`; durable before this round commits."""
        spec, log = self._runtime.depot(depot)
        payload = encode_record(record, spec.max_record_bytes, depot)
        partition = self._runtime.partition_for(spec, record, self._task)
        self._round.receipts.append(log.append(partition, payload, self.time_ms_value))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this round has committed."""
        self._round.callbacks.append(callback)

    def emit(self, output: str, event: object) -> None:
        """Publish `event` on `output` after this round commits; skipped outright while nobody subscribes."""
        channel = self._outputs.get(output)
        if channel is None:
            known = ", ".join(sorted(self._outputs)) or "none"
            raise UnknownOutputError(f"module {self._runtime.name!r} has no output {output!r} (it declares: {known})")
        if channel.subscribers:
            # Encoded now, as the Kafka runtime will: the event is fixed as emitted and checked msgpack-able.
            self._round.emitted.append((channel, encode_record(event, depot=f"output {output}")))
