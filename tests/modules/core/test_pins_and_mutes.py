"""Pins (Mastodon's validator and limit) and conversation mutes (keyed by the thread's root)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from modules.core.interactions import PIN_LIMIT
from tests.modules.core.interaction_support import act, card
from tests.modules.core.support import CORE, delete, launched, post, register
from topology.context import RecordRejected


def test_pins_follow_mastodons_rules_and_limit(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            visibilities = ["public", "unlisted", "private", "public", "public", "public"]
            own = []
            for i, visibility in enumerate(visibilities):
                own.append(await post(cluster, alice, f"post {i}", visibility=visibility))
                clock.advance(1)
            direct = await post(cluster, alice, "dm", visibility="direct", mentions=[bob])
            boost = await act(cluster, "reblog", alice, await post(cluster, bob, "bob's"))
            for status, message in (
                (direct, "only visible to mentioned users"),
                (boost, "A boost cannot be pinned"),
                (await post(cluster, bob, "not hers"), "Someone else's post"),
                (direct + 10_000, "unknown status"),
            ):
                with pytest.raises(RecordRejected, match=message):
                    await act(cluster, "pin", alice, status)
            for status in own[:PIN_LIMIT]:
                await act(cluster, "pin", alice, status)
                clock.advance(1)
            await act(cluster, "pin", alice, own[0])  # a repeat: still five pins
            with pytest.raises(RecordRejected, match="You have already pinned the maximum"):
                await act(cluster, "pin", alice, own[PIN_LIMIT])
            assert await cluster.query(CORE, "pinned", alice) == own[:PIN_LIMIT][::-1]
            assert (await card(cluster, alice, own[1]))["pinned"] is True
            await delete(cluster, alice, own[1])  # a deleted pin frees its slot
            assert await cluster.query(CORE, "pinned", alice) == [own[4], own[3], own[2], own[0]]
            await act(cluster, "pin", alice, own[PIN_LIMIT])
            await act(cluster, "unpin", alice, own[0])
            await act(cluster, "unpin", alice, own[0])
            assert await cluster.query(CORE, "pinned", alice) == [own[5], own[4], own[3], own[2]]
            assert (await card(cluster, alice, own[0]))["pinned"] is False

    asyncio.run(scenario())


def test_a_conversation_mute_covers_the_whole_thread(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            root = await post(cluster, alice, "thread")
            reply = await post(cluster, bob, "reply", in_reply_to=root)
            deeper = await post(cluster, alice, "deeper", in_reply_to=reply)
            elsewhere = await post(cluster, alice, "another thread")
            assert await act(cluster, "mute", carol, deeper) == root
            assert await act(cluster, "mute", carol, reply) == root  # a repeat
            for status in (root, reply, deeper):
                assert await cluster.query(CORE, "muted_conversation", carol, status) is True
                assert (await card(cluster, carol, status))["muted"] is True
            assert await cluster.query(CORE, "muted_conversation", carol, elsewhere) is False
            assert await cluster.query(CORE, "muted_conversation", bob, root) is False
            assert await cluster.query(CORE, "muted_conversation", carol, 0, root) is True  # thread at hand
            secret = await post(cluster, alice, "dm", visibility="direct", mentions=[bob])
            with pytest.raises(RecordRejected, match="not found"):
                await act(cluster, "mute", carol, secret)
            await act(cluster, "unmute", carol, root)
            assert await cluster.query(CORE, "muted_conversation", carol, deeper) is False

    asyncio.run(scenario())
