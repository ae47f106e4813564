"""Standby placement: one standby per task off its owner, balanced, sticky; owners move to warm standbys."""

from __future__ import annotations

from typing import Any

from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata

from cluster.workers.assignor import MemberInfo, RoutingTable, TaskAssignor, assign_tasks
from cluster.workers.standby_placement import assign_standbys


def standbys_of(placed: dict[str, list[int]], task: int) -> list[str]:
    return sorted(member for member, tasks in placed.items() if task in tasks)


def test_every_task_gets_one_standby_on_another_member_and_counts_balance() -> None:
    owners = {"a": [0, 1, 2], "b": [3, 4, 5], "c": [6, 7]}
    placed = assign_standbys({}, owners, 8, 1)
    for member, owned in owners.items():
        for task in owned:
            assert len(standbys_of(placed, task)) == 1 and standbys_of(placed, task) != [member]
    counts = sorted(len(tasks) for tasks in placed.values())
    assert counts[-1] - counts[0] <= 1 and sum(counts) == 8


def test_two_members_each_keep_the_other_s_tasks_warm() -> None:
    assert assign_standbys({}, {"a": [0, 1], "b": [2, 3]}, 4, 1) == {"a": [2, 3], "b": [0, 1]}


def test_standbys_are_sticky_while_they_fit() -> None:
    owners = {"a": [0, 1], "b": [2, 3], "c": [4, 5]}
    held = {"a": frozenset({4, 5}), "b": frozenset({0}), "c": frozenset({1, 2})}
    placed = assign_standbys(held, owners, 6, 1)
    assert {4, 5} <= set(placed["a"]) and 0 in placed["b"] and {1, 2} <= set(placed["c"])
    assert sorted(t for tasks in placed.values() for t in tasks) == list(range(6))


def test_a_held_standby_of_a_task_the_member_now_owns_is_dropped() -> None:
    placed = assign_standbys({"a": frozenset({2, 3})}, {"a": [0, 1, 2], "b": [3]}, 4, 1)
    assert placed == {"a": [3], "b": [0, 1, 2]}


def test_a_task_never_has_more_standbys_than_other_members() -> None:
    assert assign_standbys({}, {"a": [0, 1, 2, 3]}, 4, 1) == {"a": []}
    placed = assign_standbys({}, {"a": [0, 1], "b": [2, 3]}, 4, 3)
    assert all(standbys_of(placed, task) == (["b"] if task < 2 else ["a"]) for task in range(4))
    assert assign_standbys({}, {"a": [0], "b": [1]}, 2, 0) == {"a": [], "b": []}


def test_an_orphaned_task_goes_to_the_member_holding_its_standby() -> None:
    # d owned task 3 and died; c kept task 3 warm, so c (not a, first by id) takes it.
    members = {
        "a": MemberInfo("x", frozenset({0})),
        "b": MemberInfo("y", frozenset({1})),
        "c": MemberInfo("z", frozenset({2}), standbys=frozenset({3})),
    }
    assert assign_tasks(members, 4) == {"a": [0], "b": [1], "c": [2, 3]}


def test_member_info_and_routing_carry_standbys_and_older_payloads_still_decode() -> None:
    member = MemberInfo("127.0.0.1:1", frozenset({0}), 3, frozenset({2, 3}), 1)
    assert MemberInfo.decode(member.encode()) == member
    old_member = bytes([0x93, 0xA1, 0x68, 0x91, 0x01, 0x05])  # msgpack ["h", [1], 5]: no standby fields
    assert MemberInfo.decode(old_member) == MemberInfo("h", frozenset({1}), 5)
    table = RoutingTable(4, {0: "a", 1: "b"}, {0: ("b",), 1: ("a",)})
    assert RoutingTable.decode(table.encode()) == table
    assert table.standby_tasks("a") == {1}
    old_table = bytes([0x92, 0x04, 0x81, 0x00, 0xA1, 0x61])  # msgpack [4, {0: "a"}]
    assert RoutingTable.decode(old_table) == RoutingTable(4, {0: "a"})


class _Cluster:
    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1, 2, 3}


def test_the_leader_places_standbys_in_the_routing_table_and_each_member_finds_its_own() -> None:
    def joined(address: str, owned: set[int], count: int) -> Any:
        return ConsumerProtocolMemberMetadata(
            0, ["ns.workers"], MemberInfo(address, frozenset(owned), 1, frozenset(), count).encode()
        )

    members: dict[str, Any] = {"m1": joined("h:1", {0, 1}, 1), "m2": joined("h:2", {2, 3}, 0)}
    assignments = TaskAssignor("h:1").assign(_Cluster(), members)
    table = RoutingTable.decode(assignments["m1"].user_data)
    assert table.owners == {0: "h:1", 1: "h:1", 2: "h:2", 3: "h:2"}
    assert table.standbys == {0: ("h:2",), 1: ("h:2",), 2: ("h:1",), 3: ("h:1",)}  # the largest count asked wins
    member = TaskAssignor("h:2", standbys=1)
    member.on_assignment(assignments["m2"])
    assert member.standbys == {0, 1}
    assert MemberInfo.decode(member.metadata(["ns.workers"]).user_data).standbys == {0, 1}
