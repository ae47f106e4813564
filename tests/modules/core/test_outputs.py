"""Core's outputs: home deliveries one event per page, public statuses, deletes with their visibility."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.client import OutputEvent, Subscription
from cluster.testing import FakeClock
from modules.core import Core
from tests.modules.core.support import CORE, delete, follow, follow_all, launched, post, register, register_many
from tests.runtimes import skip_on_workers

WAIT_S = 10.0
OUTPUTS = ("home_updates", "public_updates", "status_deletes")


OUTPUTS_OVER_HTTP = (
    "events reach a workers subscription over each worker's HTTP stream after the commit, so `pending` "
    "right after wait_idle may not count them all yet (the streams are covered by tests/workers/test_api_outputs.py)"
)


async def _drain(subscription: Subscription) -> list[OutputEvent]:
    return [await asyncio.wait_for(subscription.next(), WAIT_S) for _ in range(subscription.pending)]


def test_posts_and_deletes_are_announced_after_fanout(tmp_path: Path, store_kind: str) -> None:
    skip_on_workers(OUTPUTS_OVER_HTTP)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            await follow(cluster, bob, alice)
            await follow(cluster, carol, alice)
            events = await cluster.subscribe(CORE, *OUTPUTS)
            public = await post(cluster, alice, "hello")
            private = await post(cluster, alice, "friends only", visibility="private")
            await cluster.controls.wait_idle()
            received = await _drain(events)
            homes: dict[int, set[int]] = {}
            for event in received:
                if event.output == "home_updates":
                    homes.setdefault(event.value["status"], set()).update(event.value["accounts"])
            assert homes == {public: {alice, bob, carol}, private: {alice, bob, carol}}
            publics = [e.value for e in received if e.output == "public_updates"]
            assert publics == [{"status": public, "author": alice, "visibility": "public", "tags": [], "local": True}]

            await delete(cluster, alice, private)
            await cluster.controls.wait_idle()
            deleted = await _drain(events)
            assert [(e.output, e.value) for e in deleted] == [
                ("status_deletes", {"status": private, "author": alice, "visibility": "private"})
            ]

    asyncio.run(scenario())


def test_a_celebrity_page_is_one_event_not_one_per_follower(tmp_path: Path, store_kind: str) -> None:
    skip_on_workers(OUTPUTS_OVER_HTTP)
    clock = FakeClock()

    async def scenario() -> None:
        core = Core(fanout_limit=100, tick_ms=100)
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            celebrity, *fans = await register_many(cluster, 1_001)
            await follow_all(cluster, fans, celebrity)
            events = await cluster.subscribe(CORE, "home_updates")
            status = await post(cluster, celebrity, "hello everyone")
            await cluster.controls.wait_idle()
            while await cluster.query(CORE, "fanout_backlog"):
                clock.advance(100)
                await cluster.controls.wait_idle()
            pages = [e.value for e in await _drain(events)]
            reached = [account for page in pages for account in page["accounts"]]
            assert sorted(reached) == sorted([celebrity, *fans])  # each exactly once
            assert {page["status"] for page in pages} == {status}
            # One event per page of 100 followers and per task owning some of them, plus the author's own.
            assert len(pages) <= 1 + 4 * len(fans) // 100

    asyncio.run(scenario())
