"""Followed hashtags: public tagged statuses reach the tags' followers' homes, filtered and throttled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.testing import FakeClock
from modules.core import Core
from modules.core.fanout import Fanout
from modules.core.module import DEFAULT_FANOUT_LIMIT
from tests.modules.core.list_support import block, follow_tag, mute
from tests.modules.core.support import (
    CORE,
    InjectedFailures,
    delivered,
    follow,
    home,
    launched,
    post,
    register,
    register_many,
)
from topology.context import BatchContext

TICK_MS = 100


def test_public_tagged_statuses_reach_tag_followers(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            for account in (alice, bob, carol):
                await follow_tag(cluster, account, "python")
            await follow_tag(cluster, dave, "rust")
            await follow(cluster, carol, alice)  # reached twice: as a follower and through the tag
            tagged = await post(cluster, alice, "I like #Python and #rust")
            await post(cluster, alice, "quietly #python", visibility="unlisted")
            await post(cluster, alice, "friends only #python", visibility="private")
            untagged = await post(cluster, alice, "no tags")
            await cluster.controls.wait_idle()
            assert delivered(cluster, bob) == [tagged]  # public only
            assert delivered(cluster, dave) == [tagged]
            assert delivered(cluster, carol)[0] == untagged and delivered(cluster, carol).count(tagged) == 1
            assert await home(cluster, bob) == [tagged]
            runtime = cluster.runtime(CORE)
            timelines = runtime.task_global(runtime.task_of(alice), "home_timelines", lambda _: None)
            assert timelines.peek(alice).count(tagged) == 1  # the author's own delivery only

    asyncio.run(scenario())


def test_tag_followers_who_block_or_mute_the_author_are_skipped(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            names = ("alice", "blocker", "blocked", "muter", "expired", "fan")
            alice, blocker, blocked, muter, expired, fan = [await register(cluster, n) for n in names]
            for account in (blocker, blocked, muter, expired, fan):
                await follow_tag(cluster, account, "news")
            await block(cluster, blocker, alice)
            await block(cluster, alice, blocked)
            await mute(cluster, muter, alice)
            await mute(cluster, expired, alice, duration_s=1)
            clock.advance(2_000)  # the short mute has expired when alice posts
            status = await post(cluster, alice, "#news")
            await cluster.controls.wait_idle()
            assert delivered(cluster, fan) == [status]
            assert delivered(cluster, expired) == [status]
            for account in (blocker, blocked, muter):
                assert delivered(cluster, account) == []

    asyncio.run(scenario())


def test_a_tag_with_many_followers_is_throttled_and_drains(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()
    limit, count = 30, 100

    async def scenario() -> None:
        core = Core(fanout_limit=limit, tick_ms=TICK_MS)
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            author, *followers = await register_many(cluster, count + 1)
            await asyncio.gather(*(follow_tag(cluster, f, "big") for f in followers))
            await cluster.controls.wait_idle()
            status = await post(cluster, author, "#big news")
            await cluster.controls.wait_idle()
            assert sum(status in delivered(cluster, f) for f in followers) == limit  # one page, on the tag's task
            assert await cluster.query(CORE, "fanout_backlog") == 1
            for _ in range(count // limit):
                clock.advance(TICK_MS)
                await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") == 0
            assert all(delivered(cluster, f) == [status] for f in followers)

    asyncio.run(scenario())


class FlakyTagFanout(Fanout):
    """Fails the first `failures` tag steps."""

    def __init__(self, limit: int, failures: int) -> None:
        super().__init__(limit)
        self.failures = InjectedFailures(failures)

    def fan_out_tag(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        if self.failures.take():
            raise RuntimeError("injected")
        super().fan_out_tag(ctx, payload)


def test_a_retried_tag_fanout_delivers_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()
    core = Core()
    flaky = core.fanout = FlakyTagFanout(DEFAULT_FANOUT_LIMIT, failures=2)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            alice, *followers = [await register(cluster, f"user{i}") for i in range(9)]
            for account in followers:
                await follow_tag(cluster, account, "once")
            await cluster.controls.wait_idle()
            runtime = cluster.runtime(CORE)
            before = sum(runtime.task_global(t, "home_timelines", lambda _: None).deliveries for t in range(4))
            status = await post(cluster, alice, "#once")
            await cluster.controls.wait_idle()
            assert flaky.failures.left == 0
            after = sum(runtime.task_global(t, "home_timelines", lambda _: None).deliveries for t in range(4))
            assert after - before == 1 + len(followers)  # the author and each tag follower exactly once
            assert all(delivered(cluster, f) == [status] for f in followers)

    asyncio.run(scenario())
