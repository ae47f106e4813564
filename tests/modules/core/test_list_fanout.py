"""Fanout to list timelines: members' statuses, replies policies, visibility, languages, exclusive lists."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from tests.modules.core.list_support import add_to_list, create_list, delete_list, list_delivered, list_page
from tests.modules.core.support import delete, delivered, follow, home, launched, post, register


def test_members_statuses_reach_the_list_by_replies_policy(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            names = ("o", "alice", "bob", "carol", "dave")
            owner, alice, bob, carol, dave = [await register(cluster, n) for n in names]
            for followee in (alice, bob, carol):
                await follow(cluster, owner, followee)
            lists = {
                policy: await create_list(cluster, owner, policy, replies_policy=policy)
                for policy in ("followed", "list", "none")
            }
            for list_id in lists.values():
                await add_to_list(cluster, owner, list_id, alice, carol)
            by = {name: await post(cluster, author, name) for name, author in (("b", bob), ("c", carol), ("d", dave))}
            by["o"] = await post(cluster, owner, "o")
            clock.advance(1)
            plain = await post(cluster, alice, "plain")
            to_followed = await post(cluster, alice, "to bob", in_reply_to=by["b"])  # followed, not a member
            to_member = await post(cluster, alice, "to carol", in_reply_to=by["c"])
            to_stranger = await post(cluster, alice, "to dave", in_reply_to=by["d"])
            to_self = await post(cluster, alice, "thread", in_reply_to=plain)
            to_owner = await post(cluster, alice, "to o", in_reply_to=by["o"])
            await cluster.controls.wait_idle()
            everywhere = [to_owner, to_self, plain, by["c"]]  # newest first
            expected = {
                "followed": [to_owner, to_self, to_member, to_followed, plain, by["c"]],
                "list": [to_owner, to_self, to_member, plain, by["c"]],
                "none": everywhere,
            }
            for policy, list_id in lists.items():
                assert list_delivered(cluster, list_id) == expected[policy], policy
                assert await list_page(cluster, owner, list_id) == expected[policy], policy
            assert to_stranger not in await home(cluster, owner)  # the home rule: owner does not follow dave

    asyncio.run(scenario())


def test_a_list_gets_what_its_owner_may_see(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            owner, alice, bob = [await register(cluster, n) for n in ("owner", "alice", "bob")]
            await follow(cluster, owner, alice, languages=["de"])
            members = await create_list(cluster, owner, "members")
            await add_to_list(cluster, owner, members, alice)
            private = await post(cluster, alice, "for followers", visibility="private", language="de")
            await post(cluster, alice, "psst", visibility="direct", mentions=[owner])  # home only, never a list
            await post(cluster, alice, "hello", language="en")  # the owner's follow keeps German only
            unlisted = await post(cluster, alice, "quiet", visibility="unlisted")
            await post(cluster, bob, "not a member")
            await cluster.controls.wait_idle()
            assert list_delivered(cluster, members) == [unlisted, private]
            assert await list_page(cluster, owner, members) == [unlisted, private]
            assert len(delivered(cluster, owner)) == 3  # home: private, direct, unlisted

    asyncio.run(scenario())


def test_list_timeline_pages_skip_deleted_statuses_and_check_the_owner(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            owner, alice, mallory = [await register(cluster, n) for n in ("owner", "alice", "mallory")]
            await follow(cluster, owner, alice)
            members = await create_list(cluster, owner, "members")
            await add_to_list(cluster, owner, members, alice)
            ids = []
            for i in range(6):
                clock.advance(1)
                ids.append(await post(cluster, alice, f"post {i}"))
            await cluster.controls.wait_idle()
            await delete(cluster, alice, ids[4])
            await cluster.controls.wait_idle()
            assert await list_page(cluster, owner, members, limit=3) == [ids[5], ids[3], ids[2]]
            assert await list_page(cluster, owner, members, ids[2], 2) == [ids[1], ids[0]]
            assert await list_page(cluster, owner, members, since_id=ids[2]) == [ids[5], ids[3]]
            assert await list_page(cluster, owner, members, limit=2, min_id=ids[0]) == [ids[2], ids[1]]
            assert await list_page(cluster, mallory, members) is None  # not mallory's list
            await delete_list(cluster, owner, members)
            assert await list_page(cluster, owner, members) is None

    asyncio.run(scenario())


def test_an_exclusive_list_keeps_its_members_out_of_the_owners_home(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            owner, alice, bob, fan = [await register(cluster, n) for n in ("owner", "alice", "bob", "fan")]
            for followee in (alice, bob):
                await follow(cluster, owner, followee)
            await follow(cluster, fan, alice)
            exclusive = await create_list(cluster, owner, "exclusive", exclusive=True)
            shared = await create_list(cluster, owner, "shared")
            await add_to_list(cluster, owner, exclusive, alice)
            await add_to_list(cluster, owner, shared, bob)
            from_alice = await post(cluster, alice, "only in the list")
            dm = await post(cluster, alice, "psst", visibility="direct", mentions=[owner])
            from_bob = await post(cluster, bob, "list and home")
            await cluster.controls.wait_idle()
            assert list_delivered(cluster, exclusive) == [from_alice]
            assert list_delivered(cluster, shared) == [from_bob]
            assert delivered(cluster, owner) == [from_bob]  # Mastodon 4.2: not even alice's direct status
            assert delivered(cluster, fan) == [from_alice]  # others' homes are untouched
            assert dm in delivered(cluster, alice)

    asyncio.run(scenario())
