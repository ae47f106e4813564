"""The chaos test's embedded replay: the workers' depots read from the broker, everything else its own.

`ChaosReplay` is an `InProcessCluster` over the workers' broker namespace with three differences that keep it
a pure reader of what the workers produced:

* **Internal depots** (appended by topologies: core's `*statuses_with_id`, `*interactions`, relationships'
  `*follow_events`...) are segment logs in the replay's own directory. The replay's topologies append to
  them again as they go; sharing the workers' topics would append a second copy there (and read both).
* **Tick depots** are the workers' (each task's owner ticks its own partitions): the replay runs on a
  `FakeClock` that is never advanced, so it appends no ticks of its own and reads exactly the workers'.
* **Stages**: a module set may name topologies to run first, in order (`stages`). A replay of several
  depots from offset 0 interleaves them as its runners happen to go, while the live load respected
  causality (a status was created after its author's account, a favourite after its status could be
  read). Each stage runs until idle with the later stages paused; then the next one is resumed.

`catch_up` asks the broker for the end of every partition the replay reads (the workers may have appended,
e.g. ticks, since the replay last looked) and waits until the replay processed it all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cluster.depot_storage import DepotStorage, SegmentStorage
from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from depots.declaration import PartitionerKind
from depots.kafka_log import KafkaDepotLog
from depots.log import DepotLog, FsyncPolicy
from topology.module import Module, ModuleDefinition

Stage = frozenset[tuple[str, str]]  # (module, topology) names run together


class ReplayStorage(DepotStorage):
    """Topology-appended depots in the replay's own segment logs, every other depot from the workers' broker."""

    def __init__(self, shared: DepotStorage, own: SegmentStorage) -> None:
        self._shared = shared
        self._own = own

    async def open_log(self, module: str, depot: str, partitions: int) -> DepotLog:
        """Open a depot of the workers (the replay appends only to internal depots, opened by `open_logs`)."""
        return await self._shared.open_log(module, depot, partitions)

    async def open_logs(self, definition: ModuleDefinition, tasks: int) -> dict[str, DepotLog]:
        """Open each depot of `definition`: internal ones locally, the others on the broker."""
        logs: dict[str, DepotLog] = {}
        try:
            for name, spec in definition.depots.items():
                storage = self._own if spec.partitioner.kind is PartitionerKind.INTERNAL else self._shared
                logs[name] = await storage.open_log(definition.name, name, spec.partition_count(tasks))
        except BaseException:
            for opened in logs.values():
                await opened.close()
            raise
        return logs

    async def close(self) -> None:
        """Close the broker session (the segment logs hold only their files)."""
        await self._shared.close()
        await self._own.close()


class ChaosReplay(InProcessCluster):
    """An embedded cluster replaying the workers' depots (see the module docstring)."""

    def __init__(self, root: Path, broker_url: str) -> None:
        super().__init__(root / "replay", depots=broker_url, clock=FakeClock())
        self.depot_storage = ReplayStorage(self.depot_storage, SegmentStorage(root / "replay", FsyncPolicy.NEVER))

    async def launch_staged(
        self, modules: Sequence[Module], tasks: int, stages: Sequence[Stage], timeout_s: float
    ) -> None:
        """Launch `modules` with only the first stage running; run each stage until idle, then the rest."""
        staged: set[tuple[str, str]] = set().union(*stages)
        everything: set[tuple[str, str]] = set()
        for module in modules:
            runtime = await self.launch(module, tasks)
            # No await between the launch and the pauses: the new runners have not had a pass yet.
            mine = {(module.name, t) for t in (*runtime.definition.streams, *runtime.definition.microbatches)}
            everything |= mine
            for name in sorted(mine - stages[0]) if stages else ():
                self.controls.pause(*name)
        for stage in [*stages[1:], frozenset(everything - staged)] if stages else []:
            await self.controls.wait_idle(timeout_s)
            for name in sorted(stage):
                self.controls.resume(*name)
        await self.controls.wait_idle(timeout_s)

    async def catch_up(self, timeout_s: float) -> None:
        """Learn the broker's end of every partition the replay reads, then wait until it processed them."""
        for runtime in self.runtimes.values():
            for log in runtime.logs.values():
                if isinstance(log, KafkaDepotLog):
                    for partition in range(log.partitions):
                        await log.refresh(partition)
        await self.controls.wait_idle(timeout_s)
