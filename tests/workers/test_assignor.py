"""The task assignor: sticky, balanced, deterministic, and its wire formats."""

from __future__ import annotations

from typing import Any

from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

from cluster.workers.assignor import MemberInfo, RoutingTable, TaskAssignor, assign_tasks


def info(address: str, *owned: int) -> MemberInfo:
    return MemberInfo(address, frozenset(owned))


def test_a_joining_member_takes_half_and_the_owner_keeps_the_rest() -> None:
    assert assign_tasks({"a": info("x", 0, 1, 2, 3), "b": info("y")}, 4) == {"a": [0, 1], "b": [2, 3]}


def test_a_survivor_keeps_its_tasks_and_takes_the_lost_ones() -> None:
    assert assign_tasks({"b": info("y", 2, 3)}, 4) == {"b": [0, 1, 2, 3]}


def test_counts_differ_by_at_most_one_and_every_task_has_one_owner() -> None:
    members = {"a": info("x", 0, 1), "b": info("y", 2, 3), "c": info("z")}
    owned = assign_tasks(members, 8)
    counts = sorted(len(tasks) for tasks in owned.values())
    assert counts[-1] - counts[0] <= 1
    assert sorted(t for tasks in owned.values() for t in tasks) == list(range(8))
    assert {0, 1} <= set(owned["a"]) and {2, 3} <= set(owned["b"])


def test_a_task_claimed_twice_goes_to_one_member_only() -> None:
    owned = assign_tasks({"a": info("x", 0, 1), "b": info("y", 1, 2)}, 4)
    assert sorted(owned["a"] + owned["b"]) == [0, 1, 2, 3]


def test_no_members_no_assignment() -> None:
    assert assign_tasks({}, 4) == {}


def test_member_info_and_routing_round_trip_and_garbage_is_an_empty_member() -> None:
    member = MemberInfo("127.0.0.1:1", frozenset({3, 1}), 7)
    assert MemberInfo.decode(member.encode()) == member
    assert MemberInfo.decode(b"\xff not msgpack") == MemberInfo("")
    table = RoutingTable(4, {0: "a", 1: "b"})
    assert RoutingTable.decode(table.encode()) == table


class _Cluster:
    def partitions_for_topic(self, topic: str) -> set[int]:
        assert topic == "ns.workers"
        return {0, 1, 2, 3}


def test_the_leader_sends_every_member_the_whole_routing_table_with_a_newer_version() -> None:
    members: dict[str, Any] = {
        "m1": ConsumerProtocolMemberMetadata(0, ["ns.workers"], MemberInfo("h:1", frozenset({0, 1, 2, 3}), 5).encode()),
        "m2": ConsumerProtocolMemberMetadata(0, ["ns.workers"], MemberInfo("h:2", frozenset(), 4).encode()),
    }
    assignor = TaskAssignor("h:1")
    assignments = assignor.assign(_Cluster(), members)
    assert [[tp.partition for tp in assignments[m].partitions()] for m in ("m1", "m2")] == [[0, 1], [2, 3]]
    table = RoutingTable.decode(assignments["m2"].user_data)
    assert table == RoutingTable(6, {0: "h:1", 1: "h:1", 2: "h:2", 3: "h:2"})
    assignor.on_assignment(assignments["m1"])
    assert assignor.routing == table and assignor.seen_version == 6
    metadata = assignor.metadata(["ns.workers"])
    assert MemberInfo.decode(metadata.user_data).version == 6
