"""List timelines after a restart, a celebrity in many lists under the throttle, and retried attempts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.testing import FakeClock
from modules.core import Core
from modules.core.fanout import Fanout
from modules.core.module import DEFAULT_FANOUT_LIMIT
from tests.modules.core.list_support import (
    add_to_list,
    create_list,
    list_delivered,
    list_deliveries,
    list_page,
)
from tests.modules.core.support import (
    CORE,
    InjectedFailures,
    delivered,
    follow,
    follow_all,
    home,
    launched,
    post,
    register,
    register_many,
)
from topology.context import BatchContext

TICK_MS = 100


def test_list_and_home_timelines_are_rebuilt_after_a_restart(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def live() -> tuple[list[int], dict[str, Any]]:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            owner, alice, bob, carol = [await register(cluster, n) for n in ("owner", "alice", "bob", "carol")]
            for followee in (alice, bob, carol):
                await follow(cluster, owner, followee)
            exclusive = await create_list(cluster, owner, "exclusive", exclusive=True)
            strict = await create_list(cluster, owner, "strict", replies_policy="none")
            await add_to_list(cluster, owner, exclusive, alice)
            await add_to_list(cluster, owner, strict, alice, bob)
            ids: list[int] = []
            for i in range(12):
                clock.advance(1)
                author = (alice, bob, carol)[i % 3]
                reply = {"in_reply_to": ids[-1]} if i % 4 == 3 else {}  # replies to someone else
                ids.append(await post(cluster, author, f"post {i}", **reply))
                if i == 5:
                    await cluster.controls.wait_idle()
                    await list_page(cluster, owner, strict)  # read once before: rebuilt, then live
            await cluster.controls.wait_idle()
            pages = {
                "exclusive": await list_page(cluster, owner, exclusive),
                "strict": await list_page(cluster, owner, strict),
                "home": await home(cluster, owner),
            }
            assert pages["exclusive"] and pages["strict"] and pages["home"]
            assert not set(pages["exclusive"] or []) & set(pages["home"])  # alice only in her exclusive list
            assert len(pages["strict"] or []) < 8  # replies to others left out
            return [owner, exclusive, strict], pages

    async def reopened(owner: int, exclusive: int, strict: int) -> dict[str, Any]:
        # A new clock: a closed cluster's tick listener stays registered on the old one (an engine gap).
        async with launched(tmp_path, store_kind, clock=FakeClock(clock.now_ms())) as cluster:
            await cluster.controls.wait_idle()
            assert list_delivered(cluster, exclusive) == [] and list_delivered(cluster, strict) == []
            return {
                "exclusive": await list_page(cluster, owner, exclusive),
                "strict": await list_page(cluster, owner, strict),
                "home": await home(cluster, owner),
            }

    (owner, exclusive, strict), before = asyncio.run(live())
    assert asyncio.run(reopened(owner, exclusive, strict)) == before


def test_a_celebrity_in_many_lists_is_throttled_and_ordinary_posts_are_not(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()
    limit, fans_count, listers = 40, 600, 130  # the memberships take 4 pages; each bucket page 40 per task

    async def scenario() -> None:
        core = Core(fanout_limit=limit, tick_ms=TICK_MS)
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            celebrity, friend, *fans = await register_many(cluster, fans_count + 2)
            await follow_all(cluster, fans, celebrity)
            await follow(cluster, fans[0], friend)
            lists: dict[int, int] = {}
            for i, fan in enumerate(fans[:listers]):
                lists[fan] = await create_list(cluster, fan, "stars", exclusive=i % 2 == 0)
                await add_to_list(cluster, fan, lists[fan], celebrity)
            await cluster.controls.wait_idle()

            big = await post(cluster, celebrity, "hello everyone")
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") > 0
            reached_lists = [fan for fan, list_id in lists.items() if big in list_delivered(cluster, list_id)]
            assert 0 < len(reached_lists) <= limit  # one page of memberships so far
            small = await post(cluster, friend, "hi")
            await cluster.controls.wait_idle()
            assert small in delivered(cluster, fans[0])  # not held back by the celebrity's backlog

            for _ in range(fans_count // limit + 1):
                if await cluster.query(CORE, "fanout_backlog") == 0:
                    break
                clock.advance(TICK_MS)
                await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") == 0
            assert all(list_delivered(cluster, list_id) == [big] for list_id in lists.values())
            exclusive_owners = {fan for i, fan in enumerate(fans[:listers]) if i % 2 == 0}
            for fan in fans:
                assert (big in delivered(cluster, fan)) == (fan not in exclusive_owners), fan

    asyncio.run(scenario())


class FlakyListFanout(Fanout):
    """Fails the first `failures` list deliveries: after the home deliveries of that attempt were gathered."""

    def __init__(self, limit: int, failures: int) -> None:
        super().__init__(limit)
        self.failures = InjectedFailures(failures)

    def deliver_lists(self, ctx: BatchContext, payload: dict[str, Any]) -> None:
        if self.failures.take():
            raise RuntimeError("injected")
        super().deliver_lists(ctx, payload)


def test_a_retried_attempt_delivers_to_lists_and_homes_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()
    core = Core()
    flaky = core.fanout = FlakyListFanout(DEFAULT_FANOUT_LIMIT, failures=2)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            alice = await register(cluster, "alice")
            owners = [await register(cluster, f"owner{i}") for i in range(6)]
            await follow_all(cluster, owners, alice)
            lists = []
            for owner in owners:
                lists.append(await create_list(cluster, owner, "alice"))
                await add_to_list(cluster, owner, lists[-1], alice)
            await cluster.controls.wait_idle()
            before = list_deliveries(cluster)
            status = await post(cluster, alice, "once")
            await cluster.controls.wait_idle()
            assert flaky.failures.left == 0  # both failures happened, then the batch committed
            assert list_deliveries(cluster) - before == len(lists)
            assert all(list_delivered(cluster, list_id) == [status] for list_id in lists)
            assert all(delivered(cluster, owner) == [status] for owner in owners)

    asyncio.run(scenario())
