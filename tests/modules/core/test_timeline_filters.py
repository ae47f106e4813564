"""Blocks and mutes in home and list timelines: applied when a page is read, pages kept full."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from tests.modules.core.list_support import add_to_list, block, create_list, list_page, mute
from tests.modules.core.support import CORE, delivered, follow, home, launched, post, register


def test_a_muted_followee_is_delivered_but_hidden_until_unmuted(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            await follow(cluster, bob, alice)
            await follow(cluster, bob, carol)
            await mute(cluster, bob, alice)  # a follow can exist with a mute
            ids = []
            for i in range(6):
                clock.advance(1)
                ids.append(await post(cluster, (alice, carol)[i % 2], f"post {i}"))
            await cluster.controls.wait_idle()
            from_carol = [ids[5], ids[3], ids[1]]
            assert delivered(cluster, bob) == ids[::-1]  # fanout does not look at mutes (see `fanout`)
            assert await home(cluster, bob, limit=3) == from_carol  # the page is filled past muted statuses
            assert await home(cluster, bob) == from_carol
            await mute(cluster, bob, alice, op="unmute")
            assert await home(cluster, bob) == ids[::-1]

    asyncio.run(scenario())


def test_an_expired_mute_no_longer_hides(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, bob, alice)
            await mute(cluster, bob, alice, duration_s=60)
            status = await post(cluster, alice, "hello")
            await cluster.controls.wait_idle()
            assert await home(cluster, bob) == []
            later = clock.now_ms() + 61_000
            assert await cluster.query(CORE, "home_timeline", bob, None, 20, now_ms=later) == [status]
            clock.advance(61_000)
            assert await home(cluster, bob) == [status]  # by default, the cluster clock decides

    asyncio.run(scenario())


def test_statuses_of_blocked_accounts_and_mentioning_hidden_ones_are_left_out(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            names = ("alice", "bob", "carol", "dave", "erin")
            alice, bob, carol, dave, erin = [await register(cluster, n) for n in names]
            for followee in (alice, carol, erin):
                await follow(cluster, bob, followee)
            await block(cluster, bob, dave)
            await mute(cluster, bob, erin)
            kept = await post(cluster, alice, "hi")
            await post(cluster, alice, "hi @dave", mentions=[dave])  # Mastodon: mentions a blocked account
            await post(cluster, carol, "hi @erin", mentions=[erin])  # mentions a muted account
            mentions_bob = await post(cluster, carol, "hi @bob", mentions=[bob])
            await cluster.controls.wait_idle()
            assert await home(cluster, bob) == [mentions_bob, kept]
            await block(cluster, carol, bob)  # ends bob's follow; what was delivered is hidden at once
            assert await home(cluster, bob) == [kept]

    asyncio.run(scenario())


def test_list_timelines_hide_muted_members(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            owner, alice, bob = [await register(cluster, n) for n in ("owner", "alice", "bob")]
            for followee in (alice, bob):
                await follow(cluster, owner, followee)
            members = await create_list(cluster, owner, "members")
            await add_to_list(cluster, owner, members, alice, bob)
            from_alice = await post(cluster, alice, "a")
            from_bob = await post(cluster, bob, "b")
            await cluster.controls.wait_idle()
            assert set(await list_page(cluster, owner, members) or []) == {from_alice, from_bob}
            await mute(cluster, owner, alice)
            assert await list_page(cluster, owner, members) == [from_bob]

    asyncio.run(scenario())
