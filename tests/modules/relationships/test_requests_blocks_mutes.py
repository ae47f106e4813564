"""Locked accounts and follow requests, blocks (severing both ways), mutes with expiry, private notes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from tests.modules.relationships.support import (
    MODULE,
    act,
    block,
    follow,
    launched,
    relationship,
    set_locked,
)
from topology.context import RecordRejected


def test_following_a_locked_account_requests_until_authorized(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await set_locked(cluster, 2, True)
            await follow(cluster, 1, 2, reblogs=False)
            rel = await relationship(cluster, 1, 2)
            assert rel["requested"] and not rel["following"] and not rel["showing_reblogs"]
            assert (await relationship(cluster, 2, 1))["requested_by"]
            assert await cluster.query(MODULE, "follow_requests", 2) == [1]
            assert await cluster.query(MODULE, "counts", 2) == {"followers_count": 0, "following_count": 0}
            await act(cluster, "authorize", 1, 2)
            rel = await relationship(cluster, 1, 2)
            assert rel["following"] and not rel["requested"] and not rel["showing_reblogs"]
            assert await cluster.query(MODULE, "follow_requests", 2) == []
            assert await cluster.query(MODULE, "followers", 2) == [1]
            await follow(cluster, 1, 2, reblogs=True)  # an existing follower updates options, no new request
            assert (await relationship(cluster, 1, 2))["showing_reblogs"]
            assert await cluster.query(MODULE, "follow_requests", 2) == []

    asyncio.run(scenario())


def test_reject_and_withdraw_clear_the_request_on_both_sides(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await set_locked(cluster, 2, True)
            await follow(cluster, 1, 2)
            await follow(cluster, 3, 2)
            await act(cluster, "reject", 1, 2)
            await act(cluster, "unfollow", 3, 2)  # withdrawing a request
            for follower in (1, 3):
                rel = await relationship(cluster, follower, 2)
                assert not rel["requested"] and not rel["following"]
            assert await cluster.query(MODULE, "follow_requests", 2) == []

    asyncio.run(scenario())


def test_unlocking_accepts_every_pending_request(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await set_locked(cluster, 2, True)
            for follower in (5, 6, 7):
                await follow(cluster, follower, 2)
            await set_locked(cluster, 2, False)
            assert await cluster.query(MODULE, "followers", 2) == [7, 6, 5]
            assert await cluster.query(MODULE, "follow_requests", 2) == []
            assert all([(await relationship(cluster, f, 2))["following"] for f in (5, 6, 7)])

    asyncio.run(scenario())


def test_block_severs_follows_and_requests_both_ways(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow(cluster, 1, 2)
            await set_locked(cluster, 1, True)
            await follow(cluster, 2, 1)  # a pending request from the account about to be blocked
            await block(cluster, 1, 2)
            rel = await relationship(cluster, 1, 2)
            assert rel["blocking"] and not rel["following"] and not rel["requested_by"]
            back = await relationship(cluster, 2, 1)
            assert back["blocked_by"] and not back["following"] and not back["requested"] and not back["followed_by"]
            assert await cluster.query(MODULE, "follower_buckets", 2) == []
            assert await cluster.query(MODULE, "follow_requests", 1) == []
            assert await cluster.query(MODULE, "blocks", 1) == [2]
            for follower, followee in ((1, 2), (2, 1)):
                with pytest.raises(RecordRejected, match="one blocks the other"):
                    await follow(cluster, follower, followee)
            await block(cluster, 1, 2, op="unblock")
            assert not (await relationship(cluster, 2, 1))["blocked_by"]
            await follow(cluster, 2, 1)
            assert (await relationship(cluster, 2, 1))["requested"]  # 1 is still locked

    asyncio.run(scenario())


def test_mutes_expire_by_the_clock(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            mute = {"op": "mute", "muter": 1, "muted": 2, "notifications": False, "duration_s": 60}
            await cluster.append(MODULE, "*mutes", mute)
            await cluster.append(MODULE, "*mutes", {"op": "mute", "muter": 1, "muted": 3})
            rel = await relationship(cluster, 1, 2, clock.now_ms())
            assert rel["muting"] and not rel["muting_notifications"]
            assert (await relationship(cluster, 1, 3, clock.now_ms()))["muting_notifications"]
            assert await cluster.query(MODULE, "mutes", 1, clock.now_ms()) == [3, 2]
            clock.advance(60_000)
            assert not (await relationship(cluster, 1, 2, clock.now_ms()))["muting"]
            assert await cluster.query(MODULE, "mutes", 1, clock.now_ms()) == [3]
            await cluster.append(MODULE, "*mutes", {"op": "unmute", "muter": 1, "muted": 3})
            assert await cluster.query(MODULE, "mutes", 1, clock.now_ms()) == []

    asyncio.run(scenario())


def test_notes_are_private_and_cleared_by_an_empty_comment(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await cluster.append(MODULE, "*notes", {"author": 1, "target": 2, "comment": "met at FOSDEM"})
            assert (await relationship(cluster, 1, 2))["note"] == "met at FOSDEM"
            assert (await relationship(cluster, 2, 1))["note"] == ""
            await cluster.append(MODULE, "*notes", {"author": 1, "target": 2, "comment": ""})
            assert (await relationship(cluster, 1, 2))["note"] == ""
            with pytest.raises(RecordRejected, match="over the limit"):
                await cluster.append(MODULE, "*notes", {"author": 1, "target": 2, "comment": "x" * 2001})

    asyncio.run(scenario())
