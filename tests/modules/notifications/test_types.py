"""Each notification type, made through the real core and relationships depots, and what undoes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from tests.modules.core.content_support import MINUTE_MS, edit, vote
from tests.modules.core.interaction_support import act
from tests.modules.core.support import follow, post, register
from tests.modules.notifications.support import MODULE, kinds, launched, received
from tests.modules.relationships.support import act as relate
from tests.modules.relationships.support import set_locked


def test_mentions_and_notify_on_post(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, name) for name in ("alice", "bob", "carol", "dave")]
            await follow(cluster, carol, alice, notify=True)
            await follow(cluster, dave, alice, notify=True)
            await follow(cluster, dave, alice, notify=False)  # an option change takes dave out again
            mention = await post(cluster, alice, "hi @bob @alice", mentions=[bob, alice])
            assert await kinds(cluster, bob) == [("mention", alice, mention)]
            assert await kinds(cluster, alice, exclude_types=["follow"]) == []  # not for one's own mention
            assert await kinds(cluster, carol) == [("status", alice, mention)]
            clock.advance(1)
            await post(cluster, alice, "psst", visibility="direct", mentions=[carol])
            clock.advance(1)
            both = await post(cluster, alice, "hey @carol", mentions=[carol])
            assert [kind for kind, _, _ in await kinds(cluster, carol)] == ["mention", "mention", "status"]
            assert (await kinds(cluster, carol))[0] == ("mention", alice, both)  # not a `status` as well
            assert await kinds(cluster, dave) == []
            await relate(cluster, "unfollow", carol, alice)
            await post(cluster, alice, "after the unfollow")
            assert len(await received(cluster, carol)) == 3

    asyncio.run(scenario())


def test_favourites_and_boosts_come_and_go(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "like me")
            await act(cluster, "favourite", bob, status)
            clock.advance(1)  # ids are time-ordered to the ms: order within one ms is the hash's
            boost = await act(cluster, "reblog", bob, status)
            await act(cluster, "favourite", alice, status)  # one's own: nothing
            assert await kinds(cluster, alice) == [("reblog", bob, status), ("favourite", bob, status)]
            await act(cluster, "unfavourite", bob, status)
            assert await kinds(cluster, alice) == [("reblog", bob, status)]
            await act(cluster, "unreblog", bob, status)
            assert await kinds(cluster, alice) == []
            boost = await act(cluster, "reblog", bob, status)
            carol = await register(cluster, "carol")
            await act(cluster, "reblog", bob, status)
            await act(cluster, "reblog", carol, boost)  # a boost of a boost boosts the original
            assert sorted(await kinds(cluster, alice)) == [("reblog", bob, status), ("reblog", carol, status)]

    asyncio.run(scenario())


def test_follows_requests_and_their_ends(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, name) for name in ("alice", "bob", "carol", "dave")]
            await follow(cluster, bob, alice)
            assert await kinds(cluster, alice) == [("follow", bob, None)]
            await relate(cluster, "unfollow", bob, alice)
            assert await kinds(cluster, alice) == []
            await set_locked(cluster, alice, True)
            await follow(cluster, carol, alice)
            clock.advance(1)
            await follow(cluster, dave, alice)
            assert await kinds(cluster, alice) == [("follow_request", dave, None), ("follow_request", carol, None)]
            await relate(cluster, "authorize", carol, alice)  # Mastodon: the request's notification goes
            await relate(cluster, "reject", dave, alice)
            assert await kinds(cluster, alice) == []
            await relate(cluster, "unfollow", carol, alice)
            await set_locked(cluster, alice, False)
            await follow(cluster, carol, alice)  # a fresh follow after the authorized one ended
            assert await kinds(cluster, alice) == [("follow", carol, None)]

    asyncio.run(scenario())


def test_poll_results_reach_the_author_and_the_voters(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            spec = {"options": ["tea", "coffee"], "expires_in": 600}
            poll = await post(cluster, alice, "pick", poll=spec)
            await vote(cluster, bob, poll, [0])
            await vote(cluster, carol, poll, [1])
            assert await kinds(cluster, bob) == []
            clock.advance(11 * MINUTE_MS)
            await cluster.controls.wait_idle()
            for account in (alice, bob, carol):
                assert await kinds(cluster, account) == [("poll", alice, poll)]

    asyncio.run(scenario())


def test_edits_of_a_boosted_status_tell_the_boosters(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            status = await post(cluster, alice, "first")
            await act(cluster, "reblog", bob, status)
            await act(cluster, "reblog", carol, status)
            await edit(cluster, alice, status, "second", "e-1")
            assert await kinds(cluster, bob) == [("update", alice, status)]
            first = (await received(cluster, carol))[0]["id"]
            clock.advance(1_000)
            await edit(cluster, alice, status, "third", "e-2")  # a newer edit replaces the update
            [latest] = await received(cluster, carol)
            assert latest["type"] == "update" and latest["id"] > first
            one = await cluster.query(MODULE, "notification", carol, latest["id"])
            assert one == latest and await cluster.query(MODULE, "notification", carol, first) is None

    asyncio.run(scenario())
