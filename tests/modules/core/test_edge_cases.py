"""Edge cases of issue 3's audit not covered elsewhere: an unfollow while a throttled fanout is still pending,
an edit of a boosted status seen through the boost, and limits changed from Mastodon's defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from modules.core import Core
from modules.core.records import Limits
from tests.modules.core.content_support import edit, upload
from tests.modules.core.interaction_support import act, card
from tests.modules.core.support import (
    CORE,
    RELATIONSHIPS,
    delivered,
    follow_all,
    launched,
    post,
    register,
    register_many,
)
from topology.context import RecordRejected

FANS = 400
PAGE = 25  # per status per task per microbatch: 4 tasks reach 100 fans before the first tick
TICK_MS = 100


def test_an_unfollow_while_a_throttled_fanout_is_pending_keeps_the_status_away(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(
            tmp_path, store_kind, clock=clock, core=Core(fanout_limit=PAGE, tick_ms=TICK_MS)
        ) as cluster:
            celebrity, *fans = await register_many(cluster, FANS + 1)
            await follow_all(cluster, fans, celebrity)
            big = await post(cluster, celebrity, "hello everyone")
            await cluster.controls.wait_idle()
            waiting = [fan for fan in fans if big not in delivered(cluster, fan)]
            assert await cluster.query(CORE, "fanout_backlog") > 0 and len(waiting) >= FANS - 4 * PAGE
            leaving = waiting[::2]
            for fan in leaving:
                await cluster.append(
                    RELATIONSHIPS, "*follows", {"op": "unfollow", "follower": fan, "followee": celebrity}
                )
            for _ in range(FANS // PAGE + 1):
                if await cluster.query(CORE, "fanout_backlog") == 0:
                    break
                clock.advance(TICK_MS)
                await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "fanout_backlog") == 0
            assert [fan for fan in leaving if big in delivered(cluster, fan)] == []
            staying = set(fans) - set(leaving)
            assert all(big in delivered(cluster, fan) for fan in staying)

    asyncio.run(scenario())


def test_an_edit_of_a_boosted_status_shows_through_the_boost_and_a_delete_takes_both(
    tmp_path: Path, store_kind: str
) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            original = await post(cluster, alice, "first")
            boost = await act(cluster, "reblog", bob, original)
            clock.advance(60_000)
            await edit(cluster, alice, original, "second", "e-1")
            await cluster.controls.wait_idle()
            seen = (await card(cluster, bob, boost))["reblog"]
            assert (seen["id"], seen["text"], seen["edited_at"]) == (original, "second", clock.now_ms())
            await cluster.append(CORE, "*statuses", {"op": "delete", "author": alice, "id": original})
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "statuses", bob, [original, boost], None) == []

    asyncio.run(scenario())


def test_limits_set_on_the_module_replace_mastodons(tmp_path: Path, store_kind: str) -> None:
    limits = Limits(status_chars=20, mentions=2, poll_options=2, poll_option_chars=5, media_per_status=1)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, core=Core(limits=limits)) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            media = [await upload(cluster, alice, f"m-{i}") for i in range(2)]
            bad = [
                ("x" * 21, {}, "over the limit of 20"),
                ("hi", {"mentions": [alice, bob, carol]}, "mentions"),
                ("q", {"poll": {"options": ["a", "b", "c"], "expires_in": 600}}, "2 to 2 options"),
                ("q", {"poll": {"options": ["a", "sixsix"], "expires_in": 600}}, "over the limit of 5"),
                ("pic", {"media": media}, "at most 1 media"),
            ]
            for text, fields, message in bad:
                with pytest.raises(RecordRejected, match=message):
                    await post(cluster, alice, text, uuid=f"bad-{message}", **fields)
            assert await cluster.query(CORE, "author_statuses", alice) == []
            kept = await post(cluster, alice, "x" * 20, mentions=[bob, carol], media=media[:1])
            polled = await post(cluster, alice, "q", poll={"options": ["a", "fifth"], "expires_in": 600})
            assert await cluster.query(CORE, "author_statuses", alice) == [polled, kept]

    asyncio.run(scenario())
