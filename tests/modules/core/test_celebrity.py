"""A celebrity's fanout is throttled per task per microbatch and continued by ticks; others are not held."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from modules.core import Core
from tests.modules.core.support import CORE, delivered, follow, follow_all, home, launched, post, register_many

FOLLOWERS = 5_000
LIMIT = 500  # per status per task per microbatch
TICK_MS = 100


def test_ordinary_posts_are_not_held_back_by_a_celebrity(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        core = Core(fanout_limit=LIMIT, tick_ms=TICK_MS)
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            celebrity, *fans = await register_many(cluster, FOLLOWERS + 1)
            ordinary = fans[:20]
            await follow_all(cluster, fans, celebrity)
            for i, author in enumerate(ordinary):
                await follow(cluster, ordinary[(i + 1) % 20], author)

            big = await post(cluster, celebrity, "hello everyone")
            await cluster.controls.wait_idle()
            reached = sum(1 for f in fans if big in delivered(cluster, f))
            assert 0 < reached <= 4 * LIMIT  # one page per task so far
            assert await cluster.query(CORE, "fanout_backlog") > 0

            small = [await post(cluster, author, "hi") for author in ordinary]
            await cluster.controls.wait_idle()
            for i, status_id in enumerate(small):  # delivered whole while the celebrity's fanout waits
                assert status_id in delivered(cluster, ordinary[(i + 1) % 20])
            assert sum(1 for f in fans if big in delivered(cluster, f)) == reached

            for _ in range(FOLLOWERS // LIMIT):  # each tick: one more page per task
                if await cluster.query(CORE, "fanout_backlog") == 0:
                    break
                clock.advance(TICK_MS)
                await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") == 0
            assert all(big in delivered(cluster, f) for f in fans)

    asyncio.run(scenario())


def test_a_pending_fanout_survives_a_restart(tmp_path: Path, store_kind: str) -> None:
    first_clock = FakeClock()
    core = Core(fanout_limit=300, tick_ms=TICK_MS)

    async def before() -> tuple[int, list[int], int]:
        async with launched(tmp_path, store_kind, clock=first_clock, core=core) as cluster:
            celebrity, *fans = await register_many(cluster, 2_001)
            await follow_all(cluster, fans, celebrity)
            big = await post(cluster, celebrity, "hello everyone")
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") > 0
            return celebrity, fans, big

    async def after(fans: list[int], big: int) -> None:
        # A new clock: a closed cluster's tick listener stays registered on the old one (an engine gap).
        clock = FakeClock(first_clock.now_ms())
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") > 0  # the continuations are durable
            for _ in range(10):
                clock.advance(TICK_MS)
                await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") == 0
            undelivered = [f for f in fans if big not in delivered(cluster, f)]
            assert 0 < len(undelivered) < len(fans)  # those reached before the restart lost their memory...
            pages = [await home(cluster, f, None, 1) for f in undelivered]
            assert all(page == [big] for page in pages)  # ...and rebuild it on first read

    _, fans, big = asyncio.run(before())
    asyncio.run(after(fans, big))
