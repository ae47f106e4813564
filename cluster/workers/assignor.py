"""Task assignment: which worker owns which task, decided by the group leader with our own aiokafka assignor.

The unit of ownership is the task index: task t of every hosted module (partition t of each of its depots,
its RocksDB store). The coordination topic has one partition per task, so the group coordinator hands
partition t to exactly one member; the assignor chooses *which*: sticky (a worker keeps the tasks it reports
owning, so a join moves only what balance needs) and balanced (counts differ by at most one).

Every member's join metadata carries its RPC address, the tasks it owns and the newest routing version it
has seen; the leader answers every member with the whole routing table (task -> address) and a version one
above any reported, so each worker (and, through the routing topic, each client) knows every owner.

Standbys (`--standbys N`, docs/kafka.md): members also report the standby tasks they hold and the count they
want; the leader places `N` (the largest reported) standbys per task with `assign_standbys` and puts them in
the routing table, where each member finds its own. A task whose owner is gone goes preferably to a member
holding a warm standby of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata

from cluster.workers.standby_placement import assign_standbys

PROTOCOL_NAME = "tusk-tasks"


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What a member reports when it joins: where it answers, what it owns, the newest routing it has seen."""

    address: str
    owned: frozenset[int] = frozenset()
    version: int = 0
    standbys: frozenset[int] = frozenset()  # standby tasks it holds
    standby_count: int = 0  # standbys per task it was started with

    def encode(self) -> bytes:
        """msgpack bytes for the join metadata's user data."""
        fields = [self.address, sorted(self.owned), self.version, sorted(self.standbys), self.standby_count]
        return bytes(msgpack.packb(fields))

    @classmethod
    def decode(cls, raw: bytes) -> MemberInfo:
        """Parse join metadata user data; an empty or foreign payload is a member with nothing."""
        try:
            address, owned, version, *standby = msgpack.unpackb(raw)
            standbys, count = standby if standby else ([], 0)  # a member from before standbys has none
        except (ValueError, TypeError, msgpack.UnpackException):
            return cls("")
        tasks = frozenset(int(t) for t in owned)
        return cls(str(address), tasks, int(version), frozenset(int(t) for t in standbys), int(count))


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Task -> owning worker's address, as decided at one rebalance (`version` grows with each)."""

    version: int
    owners: dict[int, str] = field(default_factory=dict)
    standbys: dict[int, tuple[str, ...]] = field(default_factory=dict)  # task -> addresses keeping it warm

    def encode(self) -> bytes:
        """msgpack bytes (assignment user data, routing topic records, RPC replies)."""
        return bytes(msgpack.packb([self.version, self.owners, {t: list(a) for t, a in self.standbys.items()}]))

    @classmethod
    def decode(cls, raw: bytes) -> RoutingTable:
        """Parse `encode`'s bytes."""
        version, owners, *rest = msgpack.unpackb(raw, strict_map_key=False)
        placed = rest[0] if rest else {}  # a table from before standbys has none
        standbys = {int(task): tuple(str(a) for a in addresses) for task, addresses in placed.items()}
        return cls(int(version), {int(task): str(address) for task, address in owners.items()}, standbys)

    def standby_tasks(self, address: str) -> frozenset[int]:
        """The tasks the worker at `address` keeps standbys of."""
        return frozenset(task for task, addresses in self.standbys.items() if address in addresses)


def assign_tasks(members: Mapping[str, MemberInfo], tasks: int) -> dict[str, list[int]]:
    """Give each of `tasks` tasks to one member: keep reported ownership where it fits, then balance.

    Members are taken in id order, so every leader computes the same answer from the same reports.
    """
    ids = sorted(members)
    if not ids:
        return {}
    quota = {member: tasks // len(ids) + (1 if index < tasks % len(ids) else 0) for index, member in enumerate(ids)}
    # Members already owning more keep first claim to the larger quotas (fewer moves); then those holding
    # standbys of orphaned tasks (they take them over warm).
    claimed = frozenset(task for info in members.values() for task in info.owned)
    by_owned = sorted(ids, key=lambda m: (-len(members[m].owned), -len(members[m].standbys - claimed), m))
    quota = dict(zip(by_owned, sorted(quota.values(), reverse=True), strict=True))
    result: dict[str, list[int]] = {member: [] for member in ids}
    taken: set[int] = set()
    for member in by_owned:
        for task in sorted(members[member].owned):
            if 0 <= task < tasks and task not in taken and len(result[member]) < quota[member]:
                result[member].append(task)
                taken.add(task)
    free = [task for task in range(tasks) if task not in taken]
    for task in list(free):  # a free task goes first to a member with room that holds a standby of it
        warm = [m for m in by_owned if task in members[m].standbys and len(result[m]) < quota[m]]
        if warm:
            result[warm[0]].append(task)
            free.remove(task)
    for member in ids:
        while len(result[member]) < quota[member] and free:
            result[member].append(free.pop(0))
    return {member: sorted(owned) for member, owned in result.items()}


class TaskAssignor(AbstractPartitionAssignor):  # type: ignore[misc]  # aiokafka is untyped
    """aiokafka assignor over the coordination topic: partition t = task t; see the module docstring."""

    name = PROTOCOL_NAME
    version = 0

    def __init__(self, address: str, owned: Iterable[int] = (), seen_version: int = 0, standbys: int = 0) -> None:
        self.address = address
        self.owned: frozenset[int] = frozenset(owned)
        self.seen_version = seen_version
        self.standby_count = standbys
        self.standbys: frozenset[int] = frozenset()  # the standby tasks of the last assignment
        self.routing: RoutingTable | None = None

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        """Join metadata: the topics, and this worker's address, tasks, standbys and newest routing version."""
        info = MemberInfo(self.address, self.owned, self.seen_version, self.standbys, self.standby_count)
        return ConsumerProtocolMemberMetadata(self.version, sorted(topics), info.encode())

    def assign(self, cluster: Any, members: Mapping[str, Any]) -> dict[str, ConsumerProtocolMemberAssignment]:
        """Leader only: assign tasks and give every member the whole routing table."""
        topics = sorted({topic for metadata in members.values() for topic in metadata.subscription})
        if len(topics) != 1:
            raise ValueError(f"workers subscribe to one coordination topic, got {topics}")
        [topic] = topics
        tasks = len(cluster.partitions_for_topic(topic) or ())
        infos = {member: MemberInfo.decode(metadata.user_data) for member, metadata in members.items()}
        owned = assign_tasks(infos, tasks)
        version = max((info.version for info in infos.values()), default=0) + 1
        count = max((info.standby_count for info in infos.values()), default=0)
        placed = assign_standbys({m: i.standbys for m, i in infos.items()}, owned, tasks, count)
        standbys = {t: tuple(sorted(infos[m].address for m, ts in placed.items() if t in ts)) for t in range(tasks)}
        owners = {t: infos[m].address for m, ts in owned.items() for t in ts}
        table = RoutingTable(version, owners, {t: a for t, a in standbys.items() if a}).encode()
        return {
            member: ConsumerProtocolMemberAssignment(self.version, [(topic, owned[member])], table)
            for member in members
        }

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        """Keep the routing table the leader sent with this member's assignment."""
        if assignment.user_data:
            self.routing = RoutingTable.decode(assignment.user_data)
            self.seen_version = max(self.seen_version, self.routing.version)
            self.standbys = self.routing.standby_tasks(self.address)
