"""Edge cases of issue 3's audit: a scheduled status notifies when it is published (once), deleting a boost
takes its `reblog` notification, a retried follow notifies once, and a deleted status takes its notifications."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from tests.modules.core.content_support import MINUTE_MS, schedule
from tests.modules.core.interaction_support import act
from tests.modules.core.support import CORE, delete, follow, post, register
from tests.modules.notifications.support import MODULE, kinds, launched


def test_a_scheduled_status_notifies_when_published_and_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            await follow(cluster, carol, bob, notify=True)
            at = clock.now_ms() + 10 * MINUTE_MS
            await schedule(cluster, bob, "s-1", at, text="@alice later", mentions=[alice])
            assert await schedule(cluster, bob, "s-1", at, text="@alice later", mentions=[alice]) > 0  # a retry
            clock.advance(10 * MINUTE_MS - 1_000)
            assert await kinds(cluster, alice) == [] and await kinds(cluster, carol) == []
            clock.advance(1_000)
            await cluster.controls.wait_idle()
            [published] = await cluster.query(CORE, "author_statuses", bob)
            assert await kinds(cluster, alice) == [("mention", bob, published)]
            assert await kinds(cluster, carol) == [("status", bob, published)]
            clock.advance(MINUTE_MS)  # later ticks publish nothing again
            assert len(await kinds(cluster, alice)) == 1 and len(await kinds(cluster, carol)) == 1

    asyncio.run(scenario())


def test_deleting_a_boost_takes_its_reblog_notification(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "share me")
            boost = await act(cluster, "reblog", bob, status)
            assert await kinds(cluster, alice) == [("reblog", bob, status)]
            await cluster.append(CORE, "*statuses", {"op": "delete", "author": bob, "id": boost})
            assert await kinds(cluster, alice) == []

    asyncio.run(scenario())


def test_a_repeated_follow_notifies_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, bob, alice)
            clock.advance(1)
            await follow(cluster, bob, alice, notify=True)  # a retry, or new options: no second `follow`
            assert await kinds(cluster, alice) == [("follow", bob, None)]

    asyncio.run(scenario())


def test_a_deleted_status_takes_its_notifications_with_it(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, name) for name in ("alice", "bob", "carol", "dave")]
            await follow(cluster, carol, bob, notify=True)
            status = await post(cluster, alice, "hello")
            kept = await post(cluster, alice, "stays")
            await act(cluster, "favourite", bob, status)
            await act(cluster, "reblog", dave, status)
            await act(cluster, "favourite", bob, kept)
            mention = await post(cluster, bob, "@alice @dave hi", mentions=[alice, dave])
            assert len(await kinds(cluster, alice)) == 4 and await kinds(cluster, carol) == [("status", bob, mention)]
            assert await cluster.query(MODULE, "unread_count", alice) == 4
            await delete(cluster, bob, mention)
            assert ("mention", bob, mention) not in await kinds(cluster, alice)
            assert await kinds(cluster, dave) == [] and await kinds(cluster, carol) == []
            await delete(cluster, alice, status)
            assert await kinds(cluster, alice) == [("favourite", bob, kept)]
            assert await cluster.query(MODULE, "unread_count", alice) == 1  # Mastodon deletes them: not counted

    asyncio.run(scenario())
