"""Task assignment: which worker owns which task, decided by the group leader with our own aiokafka assignor.

The unit of ownership is the task index: task t of every hosted module (partition t of each of its depots,
its RocksDB store). The coordination topic has one partition per task, so the group coordinator hands
partition t to exactly one member; the assignor chooses *which*: sticky (a worker keeps the tasks it reports
owning, so a join moves only what balance needs) and balanced (counts differ by at most one).

Every member's join metadata carries its RPC address, the tasks it owns and the newest routing version it
has seen; the leader answers every member with the whole routing table (task -> address) and a version one
above any reported, so each worker (and, through the routing topic, each client) knows every owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata

PROTOCOL_NAME = "tusk-tasks"


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What a member reports when it joins: where it answers, what it owns, the newest routing it has seen."""

    address: str
    owned: frozenset[int] = frozenset()
    version: int = 0

    def encode(self) -> bytes:
        """msgpack bytes for the join metadata's user data."""
        return bytes(msgpack.packb([self.address, sorted(self.owned), self.version]))

    @classmethod
    def decode(cls, raw: bytes) -> MemberInfo:
        """Parse join metadata user data; an empty or foreign payload is a member with nothing."""
        try:
            address, owned, version = msgpack.unpackb(raw)
        except (ValueError, TypeError, msgpack.UnpackException):
            return cls("")
        return cls(str(address), frozenset(int(t) for t in owned), int(version))


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Task -> owning worker's address, as decided at one rebalance (`version` grows with each)."""

    version: int
    owners: dict[int, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """msgpack bytes (assignment user data, routing topic records, RPC replies)."""
        return bytes(msgpack.packb([self.version, self.owners]))

    @classmethod
    def decode(cls, raw: bytes) -> RoutingTable:
        """Parse `encode`'s bytes."""
        version, owners = msgpack.unpackb(raw, strict_map_key=False)
        return cls(int(version), {int(task): str(address) for task, address in owners.items()})


def assign_tasks(members: Mapping[str, MemberInfo], tasks: int) -> dict[str, list[int]]:
    """Give each of `tasks` tasks to one member: keep reported ownership where it fits, then balance.

    Members are taken in id order, so every leader computes the same answer from the same reports.
    """
    ids = sorted(members)
    if not ids:
        return {}
    quota = {member: tasks // len(ids) + (1 if index < tasks % len(ids) else 0) for index, member in enumerate(ids)}
    # Members already owning more keep first claim to the larger quotas (fewer moves).
    by_owned = sorted(ids, key=lambda m: (-len(members[m].owned), m))
    quota = dict(zip(by_owned, sorted(quota.values(), reverse=True), strict=True))
    result: dict[str, list[int]] = {member: [] for member in ids}
    taken: set[int] = set()
    for member in by_owned:
        for task in sorted(members[member].owned):
            if 0 <= task < tasks and task not in taken and len(result[member]) < quota[member]:
                result[member].append(task)
                taken.add(task)
    free = [task for task in range(tasks) if task not in taken]
    for member in ids:
        while len(result[member]) < quota[member] and free:
            result[member].append(free.pop(0))
    return {member: sorted(owned) for member, owned in result.items()}


class TaskAssignor(AbstractPartitionAssignor):  # type: ignore[misc]  # aiokafka is untyped
    """aiokafka assignor over the coordination topic: partition t = task t; see the module docstring."""

    name = PROTOCOL_NAME
    version = 0

    def __init__(self, address: str, owned: Iterable[int] = (), seen_version: int = 0) -> None:
        self.address = address
        self.owned: frozenset[int] = frozenset(owned)
        self.seen_version = seen_version
        self.routing: RoutingTable | None = None

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        """Join metadata: the topics, and this worker's address, owned tasks and newest routing version."""
        info = MemberInfo(self.address, self.owned, self.seen_version)
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
        table = RoutingTable(version, {t: infos[m].address for m, ts in owned.items() for t in ts}).encode()
        return {
            member: ConsumerProtocolMemberAssignment(self.version, [(topic, owned[member])], table)
            for member in members
        }

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        """Keep the routing table the leader sent with this member's assignment."""
        if assignment.user_data:
            self.routing = RoutingTable.decode(assignment.user_data)
            self.seen_version = max(self.seen_version, self.routing.version)
