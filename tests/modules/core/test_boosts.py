"""Boosts: idempotent per account and status, Mastodon's visibility rules, fanout, undo and cascades."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act, card, events
from tests.modules.core.support import CORE, RELATIONSHIPS, delete, delivered, follow, home, launched, post, register
from topology.context import RecordRejected


def test_a_boost_fans_out_once_skipping_the_original_author_and_hidden_reblogs(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            await follow(cluster, carol, bob)
            await follow(cluster, dave, bob, reblogs=False)
            await follow(cluster, alice, bob)
            original = await post(cluster, alice, "worth sharing")
            clock.advance(1)
            boost = await act(cluster, "reblog", bob, original)
            assert await act(cluster, "reblog", bob, original) == boost  # a retry: the same boost
            await cluster.controls.wait_idle()
            assert delivered(cluster, carol) == [boost]
            assert delivered(cluster, bob) == [boost]
            assert delivered(cluster, dave) == []  # follows bob with reblogs: false
            assert delivered(cluster, alice) == [original]  # her own status, not bob's boost of it
            assert await home(cluster, dave) == []  # the rebuild applies the same rule
            assert await home(cluster, alice) == [original]
            boosted = await card(cluster, bob, boost)
            assert boosted["reblog"]["id"] == original
            assert boosted["reblog"]["reblogs_count"] == 1
            assert boosted["reblog"]["reblogged"] is True
            assert boosted["account"]["username"] == "bob"
            assert await cluster.query(CORE, "reblogged_by", original) == [[boost, bob]]
            found = await events(cluster)
            assert found == [{"op": "reblogged", "account": bob, "status": original, "author": alice, "boost": boost}]

    asyncio.run(scenario())


def test_a_boost_of_a_boost_boosts_the_original(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            original = await post(cluster, alice, "hi")
            clock.advance(1)
            first = await act(cluster, "reblog", bob, original)
            clock.advance(1)  # ids of one ms on different tasks order by task, not by arrival
            second = await act(cluster, "reblog", carol, first)
            assert await act(cluster, "reblog", carol, original) == second
            assert (await cluster.query(CORE, "status", second))["reblog_of"] == original
            assert (await card(cluster, alice, original))["reblogs_count"] == 2
            assert [row[1] for row in await cluster.query(CORE, "reblogged_by", original)] == [carol, bob]
            assert await cluster.query(CORE, "reblogged_by", original, second, 1) == [[first, bob]]

    asyncio.run(scenario())


def test_mastodons_boost_rules(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, bob, alice)
            private = await post(cluster, alice, "followers only", visibility="private")
            direct = await post(cluster, alice, "psst", visibility="direct", mentions=[bob])
            public = await post(cluster, alice, "open")
            for status, reason in ((private, "only be boosted by their author"), (direct, "cannot be boosted")):
                with pytest.raises(RecordRejected, match=reason):
                    await act(cluster, "reblog", bob, status)
            with pytest.raises(RecordRejected, match="unknown status"):
                await act(cluster, "reblog", bob, public + 1)
            with pytest.raises(RecordRejected, match="visibility"):
                await act(cluster, "reblog", bob, public, visibility="direct")
            own = await act(cluster, "reblog", alice, private, visibility="public")
            assert (await cluster.query(CORE, "status", own))["visibility"] == "private"  # stays followers-only
            unlisted = await act(cluster, "reblog", bob, public, visibility="unlisted")
            assert (await cluster.query(CORE, "status", unlisted))["visibility"] == "unlisted"
            await cluster.append(RELATIONSHIPS, "*blocks", {"op": "block", "blocker": alice, "blocked": bob})
            other = await post(cluster, alice, "after the block")
            with pytest.raises(RecordRejected, match="not found"):
                await act(cluster, "reblog", bob, other)
            reblogged = sorted(e["status"] for e in await events(cluster) if e["op"] == "reblogged")
            assert reblogged == sorted([private, public])

    asyncio.run(scenario())


def test_unreblog_and_deleting_a_boost_undo_it_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            original = await post(cluster, alice, "hi")
            boost = await act(cluster, "reblog", bob, original)
            assert await act(cluster, "unreblog", bob, original) == boost
            assert await act(cluster, "unreblog", bob, original) is None  # a retry: nothing left to undo
            assert await cluster.query(CORE, "status", boost) is None
            assert (await card(cluster, bob, original))["reblogged"] is False
            clock.advance(1)
            again = await act(cluster, "reblog", bob, original)
            assert again != boost
            await delete(cluster, bob, again)  # deleting the boost like any status
            assert (await card(cluster, bob, original))["reblogs_count"] == 0
            assert await cluster.query(CORE, "author_statuses", bob) == []
            clock.advance(1)
            third = await act(cluster, "reblog", bob, original)
            assert third not in (boost, again)
            ops = [(e["op"], e["boost"]) for e in await events(cluster)]
            assert ops == [
                ("reblogged", boost),
                ("unreblogged", boost),
                ("reblogged", again),
                ("unreblogged", again),
                ("reblogged", third),
            ]

    asyncio.run(scenario())


def test_deleting_the_original_deletes_its_boosts(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            await follow(cluster, dave, bob)
            await follow(cluster, dave, carol)
            original = await post(cluster, alice, "soon gone")
            clock.advance(1)
            boosts = [await act(cluster, "reblog", booster, original) for booster in (bob, carol)]
            await cluster.controls.wait_idle()
            assert await home(cluster, dave) == [min(boosts)]  # the first boost of an original only
            await delete(cluster, alice, original)
            await cluster.controls.wait_idle()
            for booster, boost in zip((bob, carol), boosts, strict=True):
                assert await cluster.query(CORE, "status", boost) is None
                assert await cluster.query(CORE, "author_statuses", booster) == []
            assert await home(cluster, dave) == []
            assert await cluster.query(CORE, "reblogged_by", original) == []
            unreblogged = sorted(e["boost"] for e in await events(cluster) if e["op"] == "unreblogged")
            assert unreblogged == sorted(boosts)

    asyncio.run(scenario())


def test_an_unfollow_before_a_paused_fanout_keeps_the_boost_away(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            await follow(cluster, carol, bob)
            await follow(cluster, dave, bob)
            original = await post(cluster, alice, "hi")
            await cluster.controls.wait_idle()
            cluster.controls.pause(CORE, "fanout")
            boost = await act(cluster, "reblog", bob, original)
            await cluster.append(RELATIONSHIPS, "*follows", {"op": "unfollow", "follower": carol, "followee": bob})
            cluster.controls.resume(CORE, "fanout")
            await cluster.controls.wait_idle()
            assert delivered(cluster, carol) == []
            assert delivered(cluster, dave) == [boost]

    asyncio.run(scenario())


def test_a_home_page_shows_an_original_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            await follow(cluster, carol, alice)
            await follow(cluster, carol, bob)
            original = await post(cluster, alice, "hi")
            clock.advance(1)
            other = await post(cluster, bob, "mine")
            clock.advance(1)
            boost = await act(cluster, "reblog", bob, original)
            await cluster.controls.wait_idle()
            assert delivered(cluster, carol) == [boost, other, original]
            assert await home(cluster, carol) == [other, original]  # the boost repeats an original on the page
            assert await home(cluster, carol, limit=1) == [other]
            assert await home(cluster, bob) == [boost, other]  # bob does not follow alice: he sees his boost

    asyncio.run(scenario())
