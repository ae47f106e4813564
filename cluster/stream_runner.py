"""Runs one stream topology on the embedded cluster: records in partition order, at-least-once.

Each pass takes the durable records of one depot partition (up to `GROUP_RECORDS`) and processes them on one
`Round`; the writes of every task touched, then the consumed offset on the consuming task, commit together
when the group is done. A crash before that commit replays the group, so stream writes must be idempotent
(hops commit on their task before the source offset moves: at-least-once). A failing record is retried
alone; a `RecordRejected` commits its offset and nothing else; a record that still fails after
`max_attempts` is kept in the dead letters and answered with `RecordFailedError`. Work the records
deferred to the end of the group (`ctx.deferred`, to aggregate across records) runs before the commit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import msgpack

from cluster.client import RecordFailedError
from cluster.contexts import EmbeddedTopologyContext, Round
from cluster.runtime import ModuleRuntime, dead_letter_key
from cluster.sources import Assignment, TopologyRunner
from depots.codec import decode_record
from depots.log import LogEntry
from topology.context import RecordRejected
from topology.module import StreamTopologySpec

if TYPE_CHECKING:
    from cluster.inprocess import InProcessCluster

log = logging.getLogger(__name__)

GROUP_RECORDS = 1_000
RETRY_BACKOFF_S = 0.01


class StreamRunner(TopologyRunner):
    """The consume-process-commit loop of one stream topology over all of its tasks."""

    def __init__(self, cluster: InProcessCluster, runtime: ModuleRuntime, spec: StreamTopologySpec) -> None:
        super().__init__(cluster, runtime, spec, dict(spec.sources))
        self.spec = spec

    async def run_pass(self) -> bool:
        """Process one group from every partition with a backlog; return whether anything was processed."""
        progressed = False
        for assignment in self.assignments:
            if assignment.backlog > 0:
                entries = await assignment.log.read(assignment.partition, assignment.next_offset, GROUP_RECORDS)
                if entries:
                    await self._process_group(assignment, entries)
                    progressed = True
        return progressed

    async def _process_group(self, assignment: Assignment, entries: list[LogEntry]) -> None:
        round_ = Round(self.runtime)
        ctx = EmbeddedTopologyContext(self.cluster, self.runtime, self.spec, round_)
        try:
            results = self._apply(ctx, round_, assignment, entries)
        except Exception:
            round_.abort()
            await self._process_one_by_one(assignment, entries)
            return
        await self._commit(round_, assignment, entries, results)

    def _apply(
        self, ctx: EmbeddedTopologyContext, round_: Round, assignment: Assignment, entries: list[LogEntry]
    ) -> list[Any]:
        handler = assignment.handler
        task = assignment.task
        results: list[Any] = []
        round_.defers = True
        for entry in entries:
            ctx.begin(task, round_)
            ctx.time_ms_value = entry.timestamp_ms
            ctx.offset_value = entry.offset
            results.append(handler(ctx, decode_record(entry.payload)))
        ctx.begin(task, round_)
        ctx.flush_deferred()  # work the group's records deferred (`ctx.deferred`) is part of the group
        return results

    async def _commit(self, round_: Round, assignment: Assignment, entries: list[LogEntry], results: list[Any]) -> None:
        await round_.wait_appends_durable()
        end = entries[-1].offset + 1
        task = assignment.task
        round_.txn(task).put(self.runtime.meta[task], assignment.meta_key, msgpack.packb(end))
        round_.commit(last_task=task)
        round_.after_committed()  # callbacks, then output events: only ever for committed records
        assignment.next_offset = end
        self.processed += len(entries)
        self._acknowledge(round_, assignment, entries, results)

    def _acknowledge(self, round_: Round, assignment: Assignment, entries: list[LogEntry], results: list[Any]) -> None:
        """Resolve the committed group's `Ack.PROCESSED` waiters (a worker first waits for the round's hops)."""
        self.cluster.acks.processed(
            (assignment.depot_module, assignment.depot, assignment.partition),
            self.qualified_name,
            entries[0].offset,
            results,
        )
        self.cluster.controls.notify()

    async def _process_one_by_one(self, assignment: Assignment, entries: list[LogEntry]) -> None:
        for entry in entries:
            await self._process_with_retries(assignment, entry)

    async def _process_with_retries(self, assignment: Assignment, entry: LogEntry) -> None:
        error: Exception | None = None
        for attempt in range(self.spec.max_attempts):
            round_ = Round(self.runtime)
            ctx = EmbeddedTopologyContext(self.cluster, self.runtime, self.spec, round_)
            try:
                results = self._apply(ctx, round_, assignment, [entry])
            except RecordRejected as rejected:
                round_.abort()
                await self._commit(Round(self.runtime), assignment, [entry], [rejected])
                return
            except Exception as exc:  # retried: a module bug or a transient fault
                round_.abort()
                error = exc
                log.warning(
                    "%s/%s: record %s/%d failed (attempt %d): %r",
                    self.runtime.name,
                    self.name,
                    assignment.depot,
                    entry.offset,
                    attempt + 1,
                    exc,
                )
                await asyncio.sleep(RETRY_BACKOFF_S * (2**attempt))
                continue
            await self._commit(round_, assignment, [entry], results)
            return
        await self._dead_letter(assignment, entry, error)

    async def _dead_letter(self, assignment: Assignment, entry: LogEntry, error: Exception | None) -> None:
        failure = RecordFailedError(
            f"stream topology {self.runtime.name}/{self.name} gave up on {assignment.depot} "
            f"partition {assignment.partition} offset {entry.offset} after {self.spec.max_attempts} "
            f"attempts: {error!r}"
        )
        round_ = Round(self.runtime)
        task = assignment.task
        key = dead_letter_key(self.name, assignment.depot_module, assignment.depot, assignment.partition, entry.offset)
        round_.txn(task).put(self.runtime.meta[task], key, msgpack.packb(repr(error)))
        log.error("%s", failure)
        await self._commit(round_, assignment, [entry], [failure])
