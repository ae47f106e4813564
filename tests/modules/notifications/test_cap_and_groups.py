"""The 800 cap with its indexes, and Mastodon 4.3 group keys and group pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.client import Ack
from cluster.testing import FakeClock
from modules.notifications.grouping import HOUR_MS
from tests.modules.core.interaction_support import act
from tests.modules.core.support import CORE, follow, post, register, register_many
from tests.modules.notifications.support import MODULE, launched, received


def test_a_timeline_keeps_the_newest_800(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            for chunk in range(9):
                records = [
                    {"op": "create", "author": bob, "uuid": f"m{chunk}-{i}", "text": "@alice", "mentions": [alice]}
                    for i in range(90)
                ]
                await cluster.append_many(CORE, "*statuses", records, ack=Ack.APPENDED)
                clock.advance(1)
            await cluster.controls.wait_idle()
            keys = cluster.pstate(MODULE, "$$notification_keys")
            timeline = cluster.pstate(MODULE, "$$notifications")
            assert await timeline.call("size", alice) == 800 and await keys.call("size", alice) == 800
            kept = {value["key"] for _, value in await timeline.call("range", alice)}
            assert kept == {key for key, _ in await keys.call("range", alice)}
            [(oldest, _)] = await timeline.call("range", alice, limit=1)
            clock.advance(1)
            await post(cluster, bob, "@alice one more", mentions=[alice])
            assert (await received(cluster, alice, limit=1))[0]["id"] > oldest
            assert await timeline.call("size", alice) == 800 and await keys.call("size", alice) == 800
            assert await timeline.call("get", alice, oldest) is None  # the oldest made room
            page = await received(cluster, alice, limit=500)
            assert len(page) == 80  # Mastodon's page limit

    asyncio.run(scenario())


def test_favourites_reblogs_and_follows_group(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            fans = await register_many(cluster, 10, "fan")
            status = await post(cluster, alice, "group me")
            for fan in fans[:9]:
                await act(cluster, "favourite", fan, status)
                clock.advance(1)
            await act(cluster, "reblog", fans[0], status)
            clock.advance(1)
            for fan in fans[:3]:
                await follow(cluster, fan, alice)
                clock.advance(1)
            await post(cluster, fans[9], "@alice", mentions=[alice])
            clock.advance(13 * HOUR_MS)  # past the 12 hours a group may span: a new group starts
            await act(cluster, "favourite", fans[9], status)
            notifications = await received(cluster, alice, limit=80)
            keys = {n["type"]: n["group_key"] for n in reversed(notifications)}  # the newest of each type
            hour = notifications[-1]["created_at"] // HOUR_MS
            assert keys["reblog"] == f"reblog-{status}-{hour}" and keys["follow"] == f"follow-{hour}"
            assert keys["favourite"] == f"favourite-{status}-{hour + 13}"
            mention = next(n for n in notifications if n["type"] == "mention")
            assert mention["group_key"] == f"ungrouped-{mention['id']}"
            groups = await cluster.query(MODULE, "grouped", alice, limit=3)
            assert [g["type"] for g in groups] == ["favourite", "mention", "follow"]
            assert [g["notifications_count"] for g in groups] == [1, 1, 3]
            assert groups[2]["sample_account_ids"] == fans[2::-1]
            assert groups[2]["most_recent_notification_id"] == groups[2]["page_max_id"]
            rest = await cluster.query(MODULE, "grouped", alice, max_id=groups[2]["page_min_id"], limit=5)
            # As in Mastodon, a group reaching past a page's end shows again on the next page.
            expected = [("follow", 2), ("reblog", 1), ("favourite", 9)]
            assert [(g["type"], g["notifications_count"]) for g in rest] == expected
            assert rest[2]["sample_account_ids"] == fans[8:0:-1]  # the newest 8 of the 9
            ungrouped = await cluster.query(MODULE, "grouped", alice, limit=40, grouped_types=["reblog"])
            assert sum(g["type"] == "favourite" for g in ungrouped) == 10
            newer = await cluster.query(MODULE, "grouped", alice, min_id=rest[0]["page_min_id"], limit=2)
            assert [g["type"] for g in newer] == ["mention", "follow"]

    asyncio.run(scenario())
