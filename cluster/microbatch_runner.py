"""Runs one microbatch topology on the embedded cluster: exactly-once effects on PStates.

A microbatch takes every task's pending records (up to `max_batch_records` per partition) as one batch with
one id. Each task's PState writes, its consumed offsets and the batch id go into that task's single atomic
`WriteBatch`, so a task's effects and its progress can never disagree.

Hops make a batch span tasks: task B's writes then derive from task A's records. Before committing such a
batch, the runner writes every task's operations into a *redo record* (fsync'd, renamed into place); after a
crash or a failure between task commits, recovery applies the redo record to each task whose committed
batch id is behind, instead of recomputing (recomputing on a task that already committed would read state
that already includes the batch). A batch whose cross-task hops wrote nothing durable on their target task
(fanout's deliveries, say: in-memory, after commit) needs no redo record, like one without hops: each task's
writes derive from its own records, and a task that did not commit processes them again in the next batch.

A retry of a failed attempt keeps the batch id, so in-memory side effects can be deduplicated with
`ctx.batch_id`; callbacks registered with `ctx.after_commit` run once, after every task has committed, and
the events of `ctx.emit` are published right after them (an aborted attempt's are dropped with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from cluster.contexts import EmbeddedTopologyContext, Round
from cluster.redo import apply_operations, operations_of
from cluster.runtime import ModuleRuntime, batch_id_key, file_name_for
from cluster.sources import Assignment, TopologyRunner
from depots.codec import decode_records
from topology.context import Batch
from topology.module import MicrobatchTopologySpec

if TYPE_CHECKING:
    from cluster.inprocess import InProcessCluster

log = logging.getLogger(__name__)

RETRY_BACKOFF_S = 0.01
MAX_BACKOFF_S = 1.0

# One planned slice of a batch: an assignment and the offsets [start, end) it consumes.
PlanItem = tuple[Assignment, int, int]


class MicrobatchRunner(TopologyRunner):
    """The plan-process-commit loop of one microbatch topology over all of its tasks."""

    def __init__(self, cluster: InProcessCluster, runtime: ModuleRuntime, spec: MicrobatchTopologySpec) -> None:
        self.runtime = runtime
        self.name = spec.name
        self.redo_path = runtime.directory / "microbatch" / f"{file_name_for(spec.name)}.redo"
        self.redo_path.parent.mkdir(parents=True, exist_ok=True)
        self.recover()  # before reading offsets: a redo record may move them
        super().__init__(cluster, runtime, spec, dict(spec.sources))
        self.spec = spec
        self.last_batch_id = max(self._committed_batch_id(t) for t in runtime.owned)
        self.batches = 0
        self._round = Round(runtime)
        # (attempts, last error) while the current batch keeps failing; tests' waits report it.
        self.failing: tuple[int, Exception] | None = None

    def _committed_batch_id(self, task: int) -> int:
        return self.runtime.committed_int(task, batch_id_key(self.name))

    # -- recovery --------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Finish a cross-task batch whose commit was cut short: apply its redo record where it is missing."""
        if not self.redo_path.exists():
            return
        record = msgpack.unpackb(self.redo_path.read_bytes(), raw=False, strict_map_key=False)
        batch_id: int = record["batch_id"]
        for task, operations in record["tasks"].items():
            if task in self.runtime.stores and self._committed_batch_id(task) < batch_id:
                log.warning("%s/%s: applying redo of batch %d to task %d", self.runtime.name, self.name, batch_id, task)
                apply_operations(self.runtime.stores[task], operations)

    # -- one batch -------------------------------------------------------------------------------------

    def plan(self) -> list[PlanItem]:
        """Every assignment with a backlog and the slice of it this batch takes."""
        limit = self.spec.max_batch_records
        return [
            (a, a.next_offset, min(a.log.durable_end(a.partition), a.next_offset + limit))
            for a in self.assignments
            if a.backlog > 0
        ]

    async def run_pass(self) -> bool:
        """Run one batch if anything is pending; retry a failed attempt with the same id until it commits."""
        plan = self.plan()
        if not plan:
            return False
        batch_id = self.last_batch_id + 1
        attempt = 0
        while True:
            try:
                with paused_cyclic_gc():
                    await self._run_batch(batch_id, plan)
                break
            except Exception as exc:  # an injected fault, a module bug, a full disk: retry the same batch
                if self._redo_is_for(batch_id):
                    self.recover()  # the batch is decided: finish it from its redo record
                    self._run_callbacks()
                    break
                attempt += 1
                self.failing = (attempt, exc)
                log.warning(
                    "%s/%s: batch %d failed (attempt %d): %r", self.runtime.name, self.name, batch_id, attempt, exc
                )
                await asyncio.sleep(min(MAX_BACKOFF_S, RETRY_BACKOFF_S * 2**attempt))
        self.failing = None
        self._finish(batch_id, plan)
        return True

    async def _run_batch(self, batch_id: int, plan: list[PlanItem]) -> None:
        round_ = self._round = Round(self.runtime)
        ctx = EmbeddedTopologyContext(self.cluster, self.runtime, self.spec, round_)
        ctx.batch_id_value = batch_id
        for assignment, start, end in plan:
            batch = await self._read(assignment, start, end)
            ctx.begin(assignment.task, round_)
            ctx.time_ms_value = batch.timestamps_ms[-1]
            assignment.handler(ctx, batch)
        await round_.wait_appends_durable()
        self._add_progress(round_, batch_id, plan)
        if round_.hop_wrote and len(round_.txns) > 1:
            self._write_redo(batch_id, round_)
        self._commit(batch_id, round_)

    async def _read(self, assignment: Assignment, start: int, end: int) -> Batch:
        entries = await assignment.log.read(assignment.partition, start, end - start)
        while len(entries) < end - start:  # a log may return a read in several chunks
            more = await assignment.log.read(assignment.partition, start + len(entries), end - start - len(entries))
            if not more:
                raise RuntimeError(f"depot {assignment.depot} partition {assignment.partition} lost offsets")
            entries += more
        return Batch(
            assignment.depot,
            assignment.partition,
            start,
            decode_records([e.payload for e in entries]),
            [e.timestamp_ms for e in entries],
        )

    def _add_progress(self, round_: Round, batch_id: int, plan: list[PlanItem]) -> None:
        packed_id = msgpack.packb(batch_id)
        for assignment, _, end in plan:
            round_.txn(assignment.task).put(self.runtime.meta[assignment.task], assignment.meta_key, msgpack.packb(end))
        for task, txn in round_.txns.items():
            txn.put(self.runtime.meta[task], batch_id_key(self.name), packed_id)

    def _commit(self, batch_id: int, round_: Round) -> None:
        controls = self.cluster.controls
        for ordinal, (task, txn) in enumerate(sorted(round_.txns.items())):
            if self._committed_batch_id(task) >= batch_id:
                txn.abort()  # this task committed the batch in an earlier attempt
            else:
                txn.commit()
            controls.task_committed(self.runtime.name, self.name, task, ordinal)
        round_.txns.clear()
        self._run_callbacks()

    def _run_callbacks(self) -> None:
        self._round.after_committed()  # callbacks, then output events, once per committed batch

    def _finish(self, batch_id: int, plan: list[PlanItem]) -> None:
        for assignment, _, end in plan:
            assignment.next_offset = end
        self.last_batch_id = batch_id
        self.processed += sum(end - start for _, start, end in plan)
        self.batches += 1
        self.cluster.controls.notify()

    # -- redo record -----------------------------------------------------------------------------------

    def _write_redo(self, batch_id: int, round_: Round) -> None:
        record: dict[str, Any] = {
            "batch_id": batch_id,
            "tasks": {task: operations_of(txn) for task, txn in round_.txns.items()},
        }
        _write_durably(self.redo_path, msgpack.packb(record, use_bin_type=True))

    def _redo_is_for(self, batch_id: int) -> bool:
        if not self.redo_path.exists():
            return False
        record = msgpack.unpackb(self.redo_path.read_bytes(), raw=False, strict_map_key=False)
        return bool(record["batch_id"] == batch_id)


@contextlib.contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch; reference counting still frees what the batch drops.

    A batch decodes and builds up to hundreds of thousands of containers that live until it ends. With the
    collector on, their allocation triggers collections that rescan all of them again and again (measured on
    200k records: the whole batch ran at a third of raw rocksdict instead of half). Paused, they die by
    reference count when the batch ends and the collector never sees them. The pause lasts one batch.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _write_durably(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically and durably (write, fsync, rename, fsync the folder)."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
