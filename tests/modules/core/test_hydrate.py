"""The hydrate query: what a viewer may see, blocks and mutes both ways, boosts, counts and account stats."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from modules.core.ids import time_of
from tests.modules.core.interaction_support import act, card, cards
from tests.modules.core.support import CORE, RELATIONSHIPS, delete, follow, launched, post, register


def test_private_and_direct_statuses_reach_only_who_may_see_them(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, n) for n in ("alice", "bob", "carol", "dave")]
            await follow(cluster, bob, alice)
            public = await post(cluster, alice, "all", visibility="public")
            unlisted = await post(cluster, alice, "quiet", visibility="unlisted")
            private = await post(cluster, alice, "followers", visibility="private")
            direct = await post(cluster, alice, "dm", visibility="direct", mentions=[carol])
            gone = await post(cluster, alice, "deleted")
            await delete(cluster, alice, gone)
            ids = [gone, direct, private, unlisted, public]
            expected = {
                None: [unlisted, public],  # anonymous
                alice: [direct, private, unlisted, public],
                bob: [private, unlisted, public],  # a follower
                carol: [direct, unlisted, public],  # mentioned
                dave: [unlisted, public],
            }
            for viewer, visible in expected.items():
                assert [c["id"] for c in await cards(cluster, viewer, ids)] == visible
            anonymous = (await cards(cluster, None, [public]))[0]
            assert "favourited" not in anonymous and anonymous["account"]["username"] == "alice"

    asyncio.run(scenario())


def test_blocks_and_mutes_hide_statuses_and_boosts_both_ways(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave, erin = [
                await register(cluster, n) for n in ("alice", "bob", "carol", "dave", "erin")
            ]
            status = await post(cluster, alice, "hello")
            boost = await act(cluster, "reblog", erin, status)
            await cluster.append(RELATIONSHIPS, "*blocks", {"op": "block", "blocker": bob, "blocked": alice})
            await cluster.append(RELATIONSHIPS, "*blocks", {"op": "block", "blocker": alice, "blocked": carol})
            now = clock.now_ms()
            mute = {"op": "mute", "muter": dave, "muted": alice, "duration_s": 60}
            await cluster.append(RELATIONSHIPS, "*mutes", mute)
            for viewer in (bob, carol, dave):  # blocks alice, blocked by alice, mutes alice
                assert await cards(cluster, viewer, [boost, status], now) == []
            assert [c["id"] for c in await cards(cluster, dave, [boost, status], now + 61_000)] == [boost, status]
            assert [c["id"] for c in await cards(cluster, alice, [boost, status], now)] == [boost, status]
            await cluster.append(RELATIONSHIPS, "*mutes", {"op": "mute", "muter": dave, "muted": erin})
            assert [c["id"] for c in await cards(cluster, dave, [boost, status], now + 61_000)] == [status]

    asyncio.run(scenario())


def test_counts_are_exact_after_retries_and_deletes(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            root = await post(cluster, alice, "root")
            for _ in range(2):  # a retried create: the same uuid, one reply
                first = await post(cluster, bob, "reply", uuid="reply-1", in_reply_to=root)
            second = await post(cluster, carol, "reply", in_reply_to=root, visibility="unlisted")
            await post(cluster, carol, "quietly", in_reply_to=root, visibility="private")  # Mastodon: not counted
            await post(cluster, alice, "to myself", in_reply_to=root)
            for account in (bob, carol):
                for _ in range(2):
                    await act(cluster, "reblog", account, root)
                    await act(cluster, "favourite", account, root)
            counted = await card(cluster, alice, root)
            assert (counted["replies_count"], counted["reblogs_count"], counted["favourites_count"]) == (3, 2, 2)
            await delete(cluster, bob, first)
            await act(cluster, "unreblog", carol, root)
            await act(cluster, "unfavourite", bob, root)
            counted = await card(cluster, alice, root)
            assert (counted["replies_count"], counted["reblogs_count"], counted["favourites_count"]) == (2, 1, 1)
            assert (await card(cluster, alice, second))["replies_count"] == 0

    asyncio.run(scenario())


def test_account_stats_count_boosts_but_not_direct_statuses(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            assert await cluster.query(CORE, "account_stats", alice) == {"statuses_count": 0, "last_status_at": None}
            posted = await post(cluster, alice, "one")
            clock.advance(1_000)
            boost = await act(cluster, "reblog", alice, await post(cluster, bob, "bob's"))
            clock.advance(1_000)
            await post(cluster, alice, "dm", visibility="direct", mentions=[bob])
            stats = await cluster.query(CORE, "account_stats", alice)
            assert stats == {"statuses_count": 2, "last_status_at": time_of(boost)}
            await delete(cluster, alice, boost)
            assert await cluster.query(CORE, "account_stats", alice) == {
                "statuses_count": 1,
                "last_status_at": time_of(posted),
            }
            account = (await card(cluster, bob, posted))["account"]
            assert (account["statuses_count"], account["last_status_at"]) == (1, time_of(posted))

    asyncio.run(scenario())
