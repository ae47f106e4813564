"""Which depot partitions each task of a topology consumes, and where its consumption stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from depots.log import DepotLog
from topology.module import DepotRef

if TYPE_CHECKING:
    from cluster.inprocess import InProcessCluster
    from cluster.runtime import ModuleRuntime


@dataclass(slots=True)
class Assignment:
    """One depot partition consumed by one task of a topology, with its next offset to consume."""

    task: int
    depot_module: str
    depot: str
    partition: int
    log: DepotLog
    handler: Any
    meta_key: bytes
    next_offset: int = 0

    @property
    def backlog(self) -> int:
        """Durable records not consumed yet."""
        return self.log.durable_end(self.partition) - self.next_offset


def assign_sources(
    cluster: InProcessCluster,
    runtime: ModuleRuntime,
    topology: str,
    sources: dict[DepotRef, Any],
) -> list[Assignment]:
    """Spread every source depot's partitions over the runtime's tasks (partition p -> task p % tasks)."""
    from cluster.runtime import offset_key

    assignments: list[Assignment] = []
    for ref, handler in sources.items():
        owner = cluster.runtime(ref.module) if ref.module else runtime
        _, log = owner.depot(ref.name)
        for partition in range(log.partitions):
            task = partition % runtime.tasks
            key = offset_key(topology, owner.name, ref.name, partition)
            start = runtime.committed_int(task, key)
            assignments.append(Assignment(task, owner.name, ref.name, partition, log, handler, key, start))
    return assignments
