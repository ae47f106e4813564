"""Follow / unfollow between local accounts: both directions, options, counts, pagination, bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.modules.relationships.support import MODULE, act, follow, follow_many, launched, relationship
from topology.context import RecordRejected


def test_follow_is_seen_from_both_sides_and_unfollow_undoes_it(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow(cluster, 1, 2)
            forward, backward = await relationship(cluster, 1, 2), await relationship(cluster, 2, 1)
            assert forward["following"] and forward["showing_reblogs"] and not forward["notifying"]
            assert not forward["followed_by"] and backward["followed_by"] and not backward["following"]
            assert await cluster.query(MODULE, "counts", 1) == {"followers_count": 0, "following_count": 1}
            assert await cluster.query(MODULE, "counts", 2) == {"followers_count": 1, "following_count": 0}
            await act(cluster, "unfollow", 1, 2)
            assert not (await relationship(cluster, 1, 2))["following"]
            assert not (await relationship(cluster, 2, 1))["followed_by"]
            assert await cluster.query(MODULE, "counts", 2) == {"followers_count": 0, "following_count": 0}

    asyncio.run(scenario())


def test_refollow_updates_options_without_counting_twice(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow(cluster, 1, 2)
            await follow(cluster, 1, 2, reblogs=False, notify=True, languages=["fr", "en", "fr"])
            rel = await relationship(cluster, 1, 2)
            assert (rel["showing_reblogs"], rel["notifying"], rel["languages"]) == (False, True, ["en", "fr"])
            await follow(cluster, 1, 2, notify=False)  # omitted options keep their current values
            rel = await relationship(cluster, 1, 2)
            assert (rel["showing_reblogs"], rel["notifying"], rel["languages"]) == (False, False, ["en", "fr"])
            assert await cluster.query(MODULE, "counts", 2) == {"followers_count": 1, "following_count": 0}
            [bucket] = await cluster.query(MODULE, "follower_buckets", 2)
            assert bucket["count"] == 1
            rows = await cluster.query(MODULE, "bucket_followers", tuple(bucket["key"]))
            assert rows == [[1, {"reblogs": False, "notify": False, "languages": ["en", "fr"]}]]

    asyncio.run(scenario())


def test_unfollow_and_remove_follower_of_nothing_change_nothing(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await act(cluster, "unfollow", 1, 2)
            await act(cluster, "remove_follower", 1, 2)
            assert await cluster.query(MODULE, "counts", 2) == {"followers_count": 0, "following_count": 0}
            await follow(cluster, 1, 2)
            await act(cluster, "remove_follower", 1, 2)  # the followee drops the follower
            assert not (await relationship(cluster, 1, 2))["following"]
            assert await cluster.query(MODULE, "follower_buckets", 2) == []

    asyncio.run(scenario())


def test_pages_are_newest_first_with_max_since_and_min_id(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow_many(cluster, range(10, 20), 1)
            assert await cluster.query(MODULE, "followers", 1) == list(range(19, 9, -1))
            assert await cluster.query(MODULE, "followers", 1, None, None, None, 3) == [19, 18, 17]
            assert await cluster.query(MODULE, "followers", 1, 17, None, None, 3) == [16, 15, 14]
            assert await cluster.query(MODULE, "followers", 1, None, 16, None, 2) == [19, 18]
            assert await cluster.query(MODULE, "followers", 1, None, None, 12, 2) == [14, 13]
            assert await cluster.query(MODULE, "following", 15) == [1]
            assert await cluster.query(MODULE, "followers", 99) == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"op": "follow", "follower": 1, "followee": 1}, "cannot follow itself"),
        ({"op": "follow", "follower": 1, "followee": "2"}, "must be account ids"),
        ({"op": "befriend", "follower": 1, "followee": 2}, "unknown op"),
        ({"op": "follow", "follower": 1, "followee": 2, "languages": "en"}, "languages must be"),
        ({"op": "authorize", "follower": 1, "followee": 2}, "no pending follow request"),
        ({"op": "reject", "follower": 1, "followee": 2}, "no pending follow request"),
    ],
)
def test_bad_records_are_rejected_and_write_nothing(
    tmp_path: Path, store_kind: str, record: dict[str, object], message: str
) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match=message):
                await cluster.append(MODULE, "*follows", record)
            assert await cluster.query(MODULE, "counts", 1) == {"followers_count": 0, "following_count": 0}
            assert await cluster.query(MODULE, "counts", 2) == {"followers_count": 0, "following_count": 0}

    asyncio.run(scenario())


def test_follows_survive_a_restart(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow(cluster, 1, 2, reblogs=False)
        async with launched(tmp_path, store_kind) as cluster:
            rel = await relationship(cluster, 1, 2)
            assert rel["following"] and not rel["showing_reblogs"]

    asyncio.run(scenario())
