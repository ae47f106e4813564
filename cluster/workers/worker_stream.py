"""The stream runner of a task host: one durable wait per pass, moving tasks waited out, PROCESSED after hops.

*One round per pass.* The embedded runner commits each partition's group on its own round: with a depot and
the hop partitions of three other tasks backlogged, a pass waits for the broker up to four times in a row
(each round's appends, `*statuses_with_id` say, must be durable before it commits), and a record arriving
meanwhile waits for all of them. On a task host every source partition belongs to the one task it runs, so
a pass applies every backlogged partition's group on ONE round, in the same order the embedded runner would,
waits once for the appends of them all, and commits their state and consumed offsets in one `WriteBatch`.
Nothing about delivery changes: later groups see the earlier ones' writes (the round's transaction holds
them, as between two records of one group), a crash before the commit replays every group of the pass
(at-least-once, as before), and acknowledgements follow the commit. A round that fails is retried one
partition's group at a time, as embedded (a group failing alone then goes one record at a time).

*Moving tasks.* A read of a task that is moving fails the round fast (`TaskUnavailableError`, so the main
loop is not held); the round is retried as a whole after a backoff, with no attempt counted, until the
task's new owner answers. Any other failure takes the embedded path (attempts, dead letters).

*PROCESSED after hops* (`cluster.workers.hop_acks`): a group is acknowledged once every hop its round sent
to another task has settled there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast

import msgpack

from cluster.contexts import EmbeddedTopologyContext, Round
from cluster.sources import Assignment
from cluster.stream_runner import GROUP_RECORDS, StreamRunner
from cluster.workers.task_errors import NotOwnedError, TaskUnavailableError
from depots.log import LogEntry

if TYPE_CHECKING:
    from cluster.inprocess import InProcessCluster
    from cluster.runtime import ModuleRuntime
    from cluster.workers.task_host import TaskHost, TaskRuntime
    from topology.module import StreamTopologySpec

log = logging.getLogger(__name__)

UNAVAILABLE_BACKOFF_S = (0.05, 1.0)  # a round retried while a task it reads is moving

Group = tuple[Assignment, list[LogEntry]]


class WorkerStreamRunner(StreamRunner):
    """A task host's stream runner; see the module docstring."""

    def __init__(self, cluster: InProcessCluster, runtime: ModuleRuntime, spec: StreamTopologySpec) -> None:
        super().__init__(cluster, runtime, spec)
        # Per (depot, partition): offset spans committed whose round's hops have not settled on their targets.
        self._unsettled: dict[tuple[str, int], list[tuple[int, int]]] = {}
        self._settle_event = asyncio.Event()

    async def run_pass(self) -> bool:
        """Apply one group of every partition with a backlog on one round; return whether anything was."""
        groups: list[Group] = []
        for assignment in self.assignments:
            if assignment.backlog > 0:
                entries = await assignment.log.read(assignment.partition, assignment.next_offset, GROUP_RECORDS)
                if entries:
                    groups.append((assignment, entries))
        if groups:
            await self._process_groups(groups)
        return bool(groups)

    async def _process_group(self, assignment: Any, entries: Any) -> None:
        await self._process_groups([(assignment, entries)])

    async def _process_groups(self, groups: list[Group]) -> None:
        backoff, most = UNAVAILABLE_BACKOFF_S
        while True:
            round_ = Round(self.runtime)
            ctx = EmbeddedTopologyContext(self.cluster, self.runtime, self.spec, round_)
            try:
                results = [self._apply(ctx, round_, assignment, entries) for assignment, entries in groups]
            except TaskUnavailableError as exc:
                round_.abort()
                log.warning("%s: %r; retrying the round in %g s", self.qualified_name, exc, backoff)
                await asyncio.sleep(backoff)  # yields the loop: membership and task opening run meanwhile
                backoff = min(most, backoff * 2)
                continue
            except Exception:
                round_.abort()
                if len(groups) == 1:  # the embedded path: each record alone, with attempts and dead letters
                    await self._process_one_by_one(*groups[0])
                    return
                for group in groups:  # each group on its own round: only the failing one goes record by record
                    await self._process_groups([group])
                return
            if len(groups) == 1:
                await self._commit(round_, groups[0][0], groups[0][1], results[0])
            else:
                await self._commit_groups(round_, groups, results)
            return

    async def _commit_groups(self, round_: Round, groups: list[Group], results: list[list[Any]]) -> None:
        """Commit every group of the round at once: state and each partition's consumed offset together."""
        await round_.wait_appends_durable()
        task = groups[0][0].task
        for assignment, entries in groups:
            round_.txn(task).put(self.runtime.meta[task], assignment.meta_key, msgpack.packb(entries[-1].offset + 1))
        round_.commit(last_task=task)
        round_.after_committed()
        hops = self._runtime().take_remote_hops(round_)
        for (assignment, entries), answers in zip(groups, results, strict=True):
            assignment.next_offset = entries[-1].offset + 1
            self.processed += len(entries)
            self._acknowledge_after(hops, round_, assignment, entries, answers)

    # -- PROCESSED waits for the round's hops (cluster.workers.hop_acks) -----------------------------------

    def _acknowledge(self, round_: Round, assignment: Assignment, entries: list[LogEntry], results: list[Any]) -> None:
        """Acknowledge now if the round sent no hop to another task; else once they settled on their targets."""
        self._acknowledge_after(self._runtime().take_remote_hops(round_), round_, assignment, entries, results)

    def _acknowledge_after(
        self,
        hops: list[tuple[int, int]],
        round_: Round,
        assignment: Assignment,
        entries: list[LogEntry],
        results: list[Any],
    ) -> None:
        """Acknowledge the group once `hops` (its round's, maybe shared with other groups) settled."""
        host = cast("TaskHost", self.cluster)
        if not hops or host.hop_settlement is None:
            super()._acknowledge(round_, assignment, entries, results)
            self._settled_changed()
            return
        span = (entries[0].offset, entries[-1].offset + 1)
        unsettled = self._unsettled.setdefault((assignment.depot, assignment.partition), [])
        unsettled.append(span)
        settlement = host.hop_settlement

        async def settle() -> None:
            try:
                await settlement.wait(self.runtime.name, self.name, self.runtime.tasks, hops)
            finally:
                unsettled.remove(span)
                super(WorkerStreamRunner, self)._acknowledge(round_, assignment, entries, results)
                self._settled_changed()

        host.keep(settle())
        self._settled_changed()

    def _runtime(self) -> TaskRuntime:
        return cast("TaskRuntime", self.runtime)

    def _settled_changed(self) -> None:
        """Wake the waits of `wait_settled` (a commit or a settlement happened)."""
        self._settle_event.set()
        self._settle_event = asyncio.Event()

    def is_settled(self, depot: str, partition: int, offset: int) -> bool:
        """Whether the record at `offset` was committed here and its round's hops settled."""
        for assignment in self.assignments:
            if assignment.depot == depot and assignment.partition == partition:
                spans = self._unsettled.get((depot, partition), [])
                return offset < assignment.next_offset and not any(a <= offset < b for a, b in spans)
        raise NotOwnedError(f"{self.qualified_name} does not consume {depot} partition {partition} here")

    async def wait_settled(self, depot: str, partition: int, offset: int, timeout_s: float) -> bool:
        """Wait (at most `timeout_s`) until `is_settled`; return whether it is."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.is_settled(depot, partition, offset):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._settle_event.wait(), remaining)
            except TimeoutError:
                return False
        return True
