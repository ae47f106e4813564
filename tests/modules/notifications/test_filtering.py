"""Mastodon's filters: nothing from blocked accounts (a block removes what they notified), accounts muted with
notifications, muted conversations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act
from tests.modules.core.support import follow, post, register
from tests.modules.notifications.support import MODULE, kinds, launched
from tests.modules.relationships.support import append, block
from topology.context import RecordRejected


def test_blocks_and_mutes_with_notifications_filter(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, name) for name in ("alice", "bob", "carol", "dave")]
            status = await post(cluster, alice, "hello")
            await block(cluster, alice, bob)
            await append(cluster, "*mutes", {"op": "mute", "muter": alice, "muted": carol})
            await append(cluster, "*mutes", {"op": "mute", "muter": alice, "muted": dave, "notifications": False})
            for account in (bob, carol, dave):
                await post(cluster, account, f"hi @alice from {account}", mentions=[alice])
            await act(cluster, "favourite", carol, status)
            assert [(kind, actor) for kind, actor, _ in await kinds(cluster, alice)] == [("mention", dave)]
            await block(cluster, alice, bob, op="unblock")
            await append(cluster, "*mutes", {"op": "mute", "muter": alice, "muted": carol, "duration_s": 60})
            clock.advance(61_000)  # the timed mute is over: its filter with it
            await act(cluster, "favourite", carol, await post(cluster, alice, "later"))
            await post(cluster, bob, "hi again @alice", mentions=[alice])
            assert len(await kinds(cluster, alice)) == 3

    asyncio.run(scenario())


def test_a_muted_conversation_is_quiet(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            root = await post(cluster, alice, "a thread")
            other = await post(cluster, alice, "another")
            await act(cluster, "mute", alice, root)
            await post(cluster, bob, "reply @alice", in_reply_to=root, mentions=[alice])
            await act(cluster, "favourite", bob, root)
            await act(cluster, "favourite", bob, other)
            assert await kinds(cluster, alice) == [("favourite", bob, other)]
            await act(cluster, "unmute", alice, root)
            await act(cluster, "reblog", bob, root)
            assert ("reblog", bob, root) in await kinds(cluster, alice)

    asyncio.run(scenario())


def test_a_block_removes_what_the_blocked_account_notified_and_its_request(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            await follow(cluster, bob, alice)
            status = await post(cluster, alice, "hello")
            await act(cluster, "favourite", bob, status)
            await post(cluster, bob, "psst @alice", visibility="direct", mentions=[alice])  # filtered: a request
            await act(cluster, "favourite", carol, status)
            assert len(await kinds(cluster, alice)) == 3
            assert len(await cluster.query(MODULE, "notification_requests", alice)) == 1
            await block(cluster, alice, bob)  # Mastodon deletes the blocker's notifications from the blocked
            assert await kinds(cluster, alice) == [("favourite", carol, status)]
            assert await cluster.query(MODULE, "notification_requests", alice) == []
            await block(cluster, bob, carol)  # another pair's block touches nothing of alice's
            with pytest.raises(RecordRejected, match="cannot block itself"):
                await block(cluster, alice, alice)  # in the depot all the same: notifications skips it too
            await block(cluster, alice, bob, op="unblock")
            clock.advance(1)
            await act(cluster, "reblog", bob, status)
            assert [kind for kind, _, _ in await kinds(cluster, alice)] == ["reblog", "favourite"]

    asyncio.run(scenario())
