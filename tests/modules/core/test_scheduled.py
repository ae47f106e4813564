"""Scheduled statuses: Mastodon's limits, list / get / reschedule / cancel, publication once across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from modules.core import Core
from modules.core.records import Limits
from tests.modules.core.content_support import MINUTE_MS, schedule
from tests.modules.core.support import CORE, launched, register
from topology.context import RecordRejected

DAY_MS = 86_400_000


def test_schedule_list_reschedule_cancel_and_limits(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(1_700_006_400_000)  # midnight UTC: the daily limit counts UTC days
    core = Core(limits=Limits(scheduled_total=4, scheduled_daily=2))

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock, core=core) as cluster:
            alice = await register(cluster, "alice")
            now = clock.now_ms()
            with pytest.raises(RecordRejected, match="more than 5 minutes ahead"):
                await schedule(cluster, alice, "s-0", now + 5 * MINUTE_MS, text="too soon")
            first = await schedule(cluster, alice, "s-1", now + 10 * MINUTE_MS, text="one", visibility="private")
            assert await schedule(cluster, alice, "s-1", now + 10 * MINUTE_MS, text="one") == first  # a retry
            second = await schedule(cluster, alice, "s-2", now + 20 * MINUTE_MS, text="two")
            with pytest.raises(RecordRejected, match="for one day"):
                await schedule(cluster, alice, "s-3", now + 30 * MINUTE_MS, text="three")
            third = await schedule(cluster, alice, "s-3", now + DAY_MS, text="three")
            fourth = await schedule(cluster, alice, "s-4", now + DAY_MS + 1, text="four")
            with pytest.raises(RecordRejected, match="at most 4"):
                await schedule(cluster, alice, "s-5", now + 3 * DAY_MS, text="five")
            with pytest.raises(RecordRejected, match="over the limit"):
                await schedule(cluster, alice, "s-6", now + 3 * DAY_MS, text="x" * 501)
            listed = await cluster.query(CORE, "scheduled_statuses", alice)
            assert [e["id"] for e in listed] == [fourth, third, second, first]
            entry = await cluster.query(CORE, "scheduled_status", alice, first)
            assert entry["params"] == {"text": "one", "visibility": "private"} and entry["uuid"] == "s-1"
            move = {"op": "reschedule", "author": alice, "id": first, "scheduled_at": now + 2 * DAY_MS}
            assert (await cluster.append(CORE, "*statuses", move)).value == first
            assert (await cluster.query(CORE, "scheduled_status", alice, first))["scheduled_at"] == now + 2 * DAY_MS
            with pytest.raises(RecordRejected, match="for one day"):
                await cluster.append(CORE, "*statuses", {**move, "id": second, "scheduled_at": now + DAY_MS + 2})
            await cluster.append(CORE, "*statuses", {"op": "cancel_scheduled", "author": alice, "id": second})
            assert await cluster.query(CORE, "scheduled_status", alice, second) is None
            with pytest.raises(RecordRejected, match="no scheduled status"):
                await cluster.append(CORE, "*statuses", {"op": "cancel_scheduled", "author": alice, "id": second})

    asyncio.run(scenario())


def test_publication_happens_once_at_the_time_across_restarts(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def live() -> tuple[int, list[int]]:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            now = clock.now_ms()
            await schedule(cluster, alice, "soon", now + 6 * MINUTE_MS, text="soon #news", language="en")
            await schedule(cluster, alice, "later", now + 60 * MINUTE_MS, text="later")
            await schedule(cluster, bob, "bob", now + 6 * MINUTE_MS, text="bob's", poll=None)
            clock.advance(6 * MINUTE_MS - 1_000)
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "author_statuses", alice) == []
            clock.advance(1_000)
            await cluster.controls.wait_idle()
            [published] = await cluster.query(CORE, "author_statuses", alice)
            status = await cluster.query(CORE, "status", published)
            assert status["text"] == "soon #news" and status["tags"] == ["news"] and status["language"] == "en"
            assert status["created_at"] == clock.now_ms()
            assert len(await cluster.query(CORE, "author_statuses", bob)) == 1
            assert [e["uuid"] for e in await cluster.query(CORE, "scheduled_statuses", alice)] == ["later"]
            clock.advance(MINUTE_MS)
            await cluster.controls.wait_idle()
            return alice, [published]

    async def reopened(alice: int, before: list[int]) -> None:
        again = FakeClock(clock.now_ms())
        async with launched(tmp_path, store_kind, clock=again) as cluster:
            again.advance(MINUTE_MS)
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "author_statuses", alice) == before  # not published twice
            again.advance(60 * MINUTE_MS)
            await cluster.controls.wait_idle()
            again.advance(MINUTE_MS)
            await cluster.controls.wait_idle()
            statuses = await cluster.query(CORE, "author_statuses", alice)
            assert len(statuses) == 2 and statuses[1:] == before
            assert (await cluster.query(CORE, "status", statuses[0]))["text"] == "later"
            assert await cluster.query(CORE, "scheduled_statuses", alice) == []

    alice, before = asyncio.run(live())
    asyncio.run(reopened(alice, before))
