"""Which depot partitions each task of a topology consumes, where it stands, and what every runner shares."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cluster.runtime import offset_key
from depots.errors import LogLayoutError
from depots.log import DepotLog
from topology.module import DepotRef, TopologySpec

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
    assignments: list[Assignment] = []
    for ref, handler in sources.items():  # `sources` includes the runtime's extra ones (see TopologyRunner)
        owner = cluster.runtime(ref.module) if ref.module else runtime
        _, log = owner.depot(ref.name)
        for partition in range(log.partitions):
            task = partition % runtime.tasks
            if task not in runtime.stores:  # a worker runs only the tasks it owns
                continue
            key = offset_key(topology, owner.name, ref.name, partition)
            start = runtime.committed_int(task, key)
            _check_within_depot(topology, owner.name, ref.name, partition, start, log.durable_end(partition))
            assignments.append(Assignment(task, owner.name, ref.name, partition, log, handler, key, start))
    return assignments


def _check_within_depot(topology: str, module: str, depot: str, partition: int, start: int, end: int) -> None:
    """Refuse to resume past a depot's end: the depot lost records, or is not the one the PStates were built on.

    Resuming would skip the next `start - end` appends silently (their offsets count as consumed).
    """
    if start > end:
        raise LogLayoutError(
            f"topology {topology} committed offset {start} of {module}/{depot} partition {partition}, but the depot "
            f"ends at {end}: its storage lost records or is another cluster's (check the depots URL)"
        )


class TopologyRunner:
    """What the stream and microbatch runners share: their topology, its source assignments, progress."""

    def __init__(
        self, cluster: InProcessCluster, runtime: ModuleRuntime, spec: TopologySpec, sources: dict[DepotRef, Any]
    ) -> None:
        self.cluster = cluster
        self.runtime = runtime
        self.name = spec.name
        self.qualified_name = f"{runtime.name}/{spec.name}"
        sources = {**sources, **runtime.extra_sources(spec)}
        self.assignments: list[Assignment] = assign_sources(cluster, runtime, spec.name, sources)
        self.processed = 0  # records committed since launch: what `controls.wait_processed` counts
        self.wake = asyncio.Event()  # set when a source partition gets durable records
        self.wake.set()

    def backlog(self) -> int:
        """Durable records not yet processed."""
        return sum(a.backlog for a in self.assignments)
