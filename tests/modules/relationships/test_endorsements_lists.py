"""Endorsements and lists: only of followed accounts, dropped when the follow ends, idempotent creates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from modules.relationships.lists import MAX_LISTS
from tests.modules.relationships.support import MODULE, act, append, block, follow, launched, relationship
from topology.context import RecordRejected

OWNER = 1


async def endorse(cluster: InProcessCluster, account: int, target: int, op: str = "endorse") -> None:
    """Endorse (or unendorse) `target`."""
    await append(cluster, "*follows", {"op": op, "account": account, "target": target})


async def new_list(cluster: InProcessCluster, title: str = "friends", uuid: str = "u1", **settings: Any) -> int:
    """Create a list of OWNER and return its id."""
    record = {"op": "list_create", "owner": OWNER, "uuid": uuid, "title": title, **settings}
    list_id: int = await append(cluster, "*follows", record)
    return list_id


async def members(cluster: InProcessCluster, list_id: int, op: str, accounts: list[int]) -> None:
    """Add or remove accounts of one of OWNER's lists."""
    await append(cluster, "*follows", {"op": f"list_{op}", "owner": OWNER, "list_id": list_id, "accounts": accounts})


async def memberships(cluster: InProcessCluster, member: int) -> list[Any]:
    """The member-side index: which list timelines `member`'s statuses reach."""
    result: list[Any] = await cluster.query(MODULE, "member_lists", member)
    return result


def test_endorse_needs_a_follow_and_unfollow_drops_it(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match="must follow 2 to endorse"):
                await endorse(cluster, 1, 2)
            await follow(cluster, 1, 2)
            await follow(cluster, 1, 3)
            await endorse(cluster, 1, 2)
            await endorse(cluster, 1, 2)  # a retry changes nothing
            await endorse(cluster, 1, 3)
            assert await cluster.query(MODULE, "endorsements", 1) == [3, 2]
            assert (await relationship(cluster, 1, 2))["endorsed"]
            await endorse(cluster, 1, 3, op="unendorse")
            await act(cluster, "unfollow", 1, 2)
            assert await cluster.query(MODULE, "endorsements", 1) == []
            assert not (await relationship(cluster, 1, 2))["endorsed"]

    asyncio.run(scenario())


def test_block_drops_endorsements_and_list_members_on_both_sides(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            for followee in (2, 3):
                await follow(cluster, OWNER, followee)
            await follow(cluster, 3, OWNER)
            await endorse(cluster, OWNER, 2)
            await endorse(cluster, OWNER, 3)
            list_id = await new_list(cluster)
            await members(cluster, list_id, "add", [2, 3])
            await block(cluster, OWNER, 2)  # the owner blocks a member
            await block(cluster, 3, OWNER)  # a member blocks the owner
            assert await cluster.query(MODULE, "endorsements", OWNER) == []
            assert await cluster.query(MODULE, "list_members", OWNER, list_id) == []
            assert await memberships(cluster, 2) == [] and await memberships(cluster, 3) == []
            assert await cluster.query(MODULE, "list", OWNER, list_id) is not None  # the list itself stays

    asyncio.run(scenario())


def test_lists_crud_with_idempotent_create(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            first = await new_list(cluster, "friends", "u1")
            assert await new_list(cluster, "ignored on a retry", "u1") == first
            second = await new_list(cluster, "work", "u2", replies_policy="none", exclusive=True)
            assert first < second and first.bit_length() <= 63
            assert [entry["title"] for entry in await cluster.query(MODULE, "lists", OWNER)] == ["friends", "work"]
            assert await cluster.query(MODULE, "list", OWNER, second) == {
                "id": second,
                "title": "work",
                "replies_policy": "none",
                "exclusive": True,
            }
            await append(
                cluster, "*follows", {"op": "list_update", "owner": OWNER, "list_id": first, "title": " pals "}
            )
            updated = await cluster.query(MODULE, "list", OWNER, first)
            assert (updated["title"], updated["replies_policy"], updated["exclusive"]) == ("pals", "list", False)
            await append(cluster, "*follows", {"op": "list_delete", "owner": OWNER, "list_id": second})
            await append(cluster, "*follows", {"op": "list_delete", "owner": OWNER, "list_id": second})  # retried
            assert [entry["id"] for entry in await cluster.query(MODULE, "lists", OWNER)] == [first]
            assert await cluster.query(MODULE, "list", OWNER, second) is None
            assert await cluster.query(MODULE, "lists", 2) == []

    asyncio.run(scenario())


def test_members_follow_rules_pages_and_member_index(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            for followee in range(10, 16):
                await follow(cluster, OWNER, followee)
            list_id = await new_list(cluster)
            other = await new_list(cluster, "other", "u2", exclusive=True)
            with pytest.raises(RecordRejected, match=r"must follow \[99\]"):
                await members(cluster, list_id, "add", [10, 99])
            assert await cluster.query(MODULE, "list_members", OWNER, list_id) == []  # all or nothing
            await members(cluster, list_id, "add", list(range(10, 16)))
            await members(cluster, other, "add", [12])
            assert await cluster.query(MODULE, "list_members", OWNER, list_id, None, 3) == [15, 14, 13]
            assert await cluster.query(MODULE, "list_members", OWNER, list_id, 13, 10) == [12, 11, 10]
            assert await cluster.query(MODULE, "list_members", OWNER, other) == [12]
            assert [e["id"] for e in await cluster.query(MODULE, "lists_with_member", OWNER, 12)] == [list_id, other]
            assert await memberships(cluster, 12) == [
                {"owner": OWNER, "list_id": list_id, "replies_policy": "list", "exclusive": False},
                {"owner": OWNER, "list_id": other, "replies_policy": "list", "exclusive": True},
            ]
            await append(
                cluster, "*follows", {"op": "list_update", "owner": OWNER, "list_id": list_id, "exclusive": True}
            )
            assert all(entry["exclusive"] for entry in await memberships(cluster, 12))  # the index follows
            await members(cluster, list_id, "remove", [10, 11, 77])
            await act(cluster, "unfollow", OWNER, 12)  # unfollowing drops it from every list
            assert await cluster.query(MODULE, "list_members", OWNER, list_id) == [15, 14, 13]
            assert await cluster.query(MODULE, "lists_with_member", OWNER, 12) == []
            assert await memberships(cluster, 12) == [] and await memberships(cluster, 10) == []
            await append(cluster, "*follows", {"op": "list_delete", "owner": OWNER, "list_id": list_id})
            assert await memberships(cluster, 13) == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"op": "list_create", "owner": OWNER, "title": "x"}, "uuid must be"),
        ({"op": "list_create", "owner": OWNER, "uuid": "a", "title": "  "}, "non-empty title"),
        ({"op": "list_create", "owner": OWNER, "uuid": "a", "title": "x" * 257}, "over the limit of 256"),
        ({"op": "list_create", "owner": OWNER, "uuid": "a", "title": "x", "replies_policy": "all"}, "replies_policy"),
        ({"op": "list_create", "owner": OWNER, "uuid": "a", "title": "x", "exclusive": "yes"}, "exclusive must be"),
        ({"op": "list_create", "owner": "1", "uuid": "a", "title": "x"}, "owner must be an id"),
        ({"op": "list_rename", "owner": OWNER}, "unknown op"),
        ({"op": "list_update", "owner": OWNER, "list_id": 5, "title": "x"}, "has no list 5"),
        ({"op": "list_add", "owner": OWNER, "list_id": 5, "accounts": [2]}, "has no list 5"),
    ],
)
def test_bad_list_records_are_rejected(tmp_path: Path, store_kind: str, record: dict[str, Any], message: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match=message):
                await append(cluster, "*follows", record)
            assert await cluster.query(MODULE, "lists", OWNER) == []

    asyncio.run(scenario())


def test_at_most_fifty_lists_and_bad_members(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            ids = [await new_list(cluster, f"l{i}", f"u{i}") for i in range(MAX_LISTS)]
            assert len(set(ids)) == MAX_LISTS
            with pytest.raises(RecordRejected, match="already has 50 lists"):
                await new_list(cluster, "one too many", "u-extra")
            with pytest.raises(RecordRejected, match="accounts must be a non-empty list"):
                await members(cluster, ids[0], "add", [])

    asyncio.run(scenario())
