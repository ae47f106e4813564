"""Fanout to home timelines: followers, the author, visibility, replies, languages, deletes, dedupe."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.testing import FakeClock
from modules.core import Core
from modules.core.fanout import Fanout
from modules.core.module import DEFAULT_FANOUT_LIMIT
from tests.modules.core.support import (
    CORE,
    InjectedFailures,
    delete,
    delivered,
    follow,
    follow_all,
    home,
    launched,
    post,
    register,
)
from topology.context import BatchContext


def test_statuses_reach_followers_and_the_author_newest_first(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            await follow(cluster, bob, alice)
            await follow(cluster, carol, alice)
            await follow(cluster, carol, bob)
            first = await post(cluster, alice, "one")
            clock.advance(5)
            second = await post(cluster, bob, "two")
            clock.advance(5)  # within one ms, ids of different tasks sort by task, not by arrival
            third = await post(cluster, alice, "three", visibility="private")
            await cluster.controls.wait_idle()
            assert delivered(cluster, carol) == [third, second, first]
            assert delivered(cluster, bob) == [third, second, first]  # followed alice, and his own
            assert delivered(cluster, alice) == [third, first]
            assert delivered(cluster, dave) == []
            assert await home(cluster, carol) == [third, second, first]
            assert await home(cluster, carol, max_id=third, limit=1) == [second]
            assert await home(cluster, dave) == []

    asyncio.run(scenario())


def test_direct_statuses_reach_only_mentioned_followers(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            for follower in (bob, carol):
                await follow(cluster, follower, alice)
            dm = await post(cluster, alice, "psst", visibility="direct", mentions=[bob, dave])
            await cluster.controls.wait_idle()
            assert delivered(cluster, bob) == [dm]
            assert delivered(cluster, carol) == []  # a follower, not mentioned
            assert delivered(cluster, dave) == []  # mentioned, not a follower (Mastodon: mentioned followers)
            assert delivered(cluster, alice) == [dm]
            for account, expected in ((bob, [dm]), (carol, []), (dave, []), (alice, [dm])):
                assert await home(cluster, account) == expected  # the rebuild applies the same rule

    asyncio.run(scenario())


def test_replies_reach_followers_who_follow_the_replied_to_account(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            await follow(cluster, carol, bob)
            await follow(cluster, dave, bob)
            await follow(cluster, dave, alice)
            await follow(cluster, alice, bob)
            question = await post(cluster, alice, "question")
            clock.advance(1)
            answer = await post(cluster, bob, "answer", in_reply_to=question)
            clock.advance(1)
            thread = await post(cluster, bob, "more", in_reply_to=answer)  # a reply to himself: everyone
            await cluster.controls.wait_idle()
            assert delivered(cluster, carol) == [thread]  # does not follow alice
            assert delivered(cluster, dave) == [thread, answer, question]
            assert delivered(cluster, alice) == [thread, answer, question]  # the replied-to account
            assert await home(cluster, carol) == [thread]

    asyncio.run(scenario())


def test_follow_languages_filter_statuses(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, bob, alice, languages=["de"])
            german = await post(cluster, alice, "hallo", language="de")
            await post(cluster, alice, "hello", language="en")
            untagged = await post(cluster, alice, "?")
            await cluster.controls.wait_idle()
            assert delivered(cluster, bob) == [untagged, german]

    asyncio.run(scenario())


def test_deleted_statuses_leave_home_timelines(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, bob, alice)
            ids = [await post(cluster, alice, f"post {i}") for i in range(5)]
            await cluster.controls.wait_idle()
            await delete(cluster, alice, ids[3])
            await cluster.controls.wait_idle()
            assert await home(cluster, bob, limit=3) == [ids[4], ids[2], ids[1]]
            assert await home(cluster, bob) == [ids[4], ids[2], ids[1], ids[0]]

    asyncio.run(scenario())


def test_a_paused_fanout_delivers_each_status_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, bob, alice)
            cluster.controls.pause(CORE, "fanout")
            first = await post(cluster, alice, "one")
            assert await post(cluster, alice, "one") == first  # a retried create: no second fanout record
            second = await post(cluster, alice, "two")
            assert delivered(cluster, bob) == []
            cluster.controls.resume(CORE, "fanout")
            await cluster.controls.wait_idle()
            assert delivered(cluster, bob) == [second, first]
            runtime = cluster.runtime(CORE)
            timelines = runtime.task_global(runtime.task_of(bob), "home_timelines", lambda t: None)
            timelines.deliver(first, [bob])  # a repeated delivery (a retried upstream record) is a no-op
            assert delivered(cluster, bob) == [second, first]

    asyncio.run(scenario())


class FlakyFanout(Fanout):
    """Fails the first `failures` bucket steps: after the author's delivery of that attempt was gathered."""

    def __init__(self, limit: int, failures: int) -> None:
        super().__init__(limit)
        self.failures = InjectedFailures(failures)

    def fan_out_buckets(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        if self.failures.take():
            raise RuntimeError("injected")
        super().fan_out_buckets(ctx, payload)


def test_an_aborted_attempt_delivers_nothing_and_its_retry_delivers_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()
    core = Core()
    flaky = core.fanout = FlakyFanout(DEFAULT_FANOUT_LIMIT, failures=2)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            alice = await register(cluster, "alice")
            followers = [await register(cluster, f"f{i}") for i in range(12)]
            await follow_all(cluster, followers, alice)
            runtime = cluster.runtime(CORE)
            before = sum(runtime.task_global(t, "home_timelines", lambda _: None).deliveries for t in range(4))
            status = await post(cluster, alice, "once")
            await cluster.controls.wait_idle()
            assert flaky.failures.left == 0  # both failures happened, then the batch committed
            after = sum(runtime.task_global(t, "home_timelines", lambda _: None).deliveries for t in range(4))
            assert after - before == 13  # the author and each follower exactly once
            for account in (alice, *followers):
                assert delivered(cluster, account) == [status]

    asyncio.run(scenario())
