"""Partitioned followers: a celebrity's followers fill ~1,000 per task, then spread over every task."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from modules.relationships.buckets import BUCKET_CAPACITY, choose_task, next_task, resized
from tests.modules.relationships.support import MODULE, act, follow_many, launched

CELEBRITY = 7


async def buckets_of(cluster: InProcessCluster, followee: int) -> list[dict[str, Any]]:
    """The follower buckets of `followee`."""
    result: list[dict[str, Any]] = await cluster.query(MODULE, "follower_buckets", followee)
    return result


def stored_on(cluster: InProcessCluster, task: int, bucket: dict[str, Any]) -> int:
    """How many followers `bucket` holds in task `task`'s own store (not a routed read)."""
    view = cluster.runtime(MODULE).committed_view(task, "$$partitioned_followers")
    return int(view.size(tuple(bucket["key"])))


def test_followers_fill_a_bucket_per_task_in_order(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, tasks=4) as cluster:
            await follow_many(cluster, range(1_000, 4_500), CELEBRITY)
            buckets = await buckets_of(cluster, CELEBRITY)
            assert [b["count"] for b in buckets] == [1_000, 1_000, 1_000, 500]
            owner = cluster.runtime(MODULE).task_of(CELEBRITY)
            assert [b["task"] for b in buckets] == [(owner + i) % 4 for i in range(4)]
            for bucket in buckets:
                assert stored_on(cluster, bucket["task"], bucket) == bucket["count"]
            per_task = [
                await cluster.query(MODULE, "followers_on_task", b["task"], CELEBRITY, None, 5_000) for b in buckets
            ]
            everyone = sorted(follower for rows in per_task for follower, _ in rows)
            assert everyone == list(range(1_000, 4_500))
            assert (await cluster.query(MODULE, "counts", CELEBRITY))["followers_count"] == 3_500

    asyncio.run(scenario())


def test_once_every_task_is_full_followers_go_to_the_least_loaded(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, tasks=4) as cluster:
            await follow_many(cluster, range(1_000, 5_500), CELEBRITY)
            buckets = await buckets_of(cluster, CELEBRITY)
            assert [b["count"] for b in buckets] == [1_125] * 4
            assert sorted(b["task"] for b in buckets) == [0, 1, 2, 3]

    asyncio.run(scenario())


def test_bucket_pages_and_unfollows_keep_buckets_exact(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, tasks=4) as cluster:
            await follow_many(cluster, range(1_000, 2_200), CELEBRITY)
            first, second = await buckets_of(cluster, CELEBRITY)
            # Follows of different followers are processed in partition order, not append order.
            everyone = await cluster.query(MODULE, "followers_on_task", second["task"], CELEBRITY, None, 5_000)
            members = sorted(follower for follower, _ in everyone)
            assert len(members) == second["count"] == 200
            page = await cluster.query(MODULE, "bucket_followers", tuple(second["key"]), None, 100)
            assert [f for f, _ in page] == members[:100]
            rest = await cluster.query(MODULE, "bucket_followers", tuple(second["key"]), members[99], 1_000)
            assert [f for f, _ in rest] == members[100:]
            for follower in members:
                await act(cluster, "unfollow", follower, CELEBRITY)
            assert await buckets_of(cluster, CELEBRITY) == [first]  # the emptied bucket is gone
            await act(cluster, "unfollow", min(set(range(1_000, 2_200)) - set(members)), CELEBRITY)
            await follow_many(cluster, range(3_000, 3_002), CELEBRITY)
            # The freed place in the first bucket is reused before a new bucket opens.
            buckets = await buckets_of(cluster, CELEBRITY)
            assert [(b["task"], b["count"]) for b in buckets] == [(first["task"], 1_000), (second["task"], 1)]
            assert second["key"] == buckets[1]["key"]  # a bucket's key on a task never changes

    asyncio.run(scenario())


def test_placement_rules_without_a_cluster() -> None:
    assert choose_task([], owner=2, tasks=4) is None
    assert next_task([], owner=2, tasks=4) == 2
    full = [[2, 0, BUCKET_CAPACITY], [3, 5, BUCKET_CAPACITY]]
    assert choose_task(full, owner=2, tasks=4) is None
    assert next_task(full, owner=2, tasks=4) == 0
    assert choose_task([[2, 0, BUCKET_CAPACITY], [3, 5, 10]], owner=2, tasks=2) == 3
    assert choose_task([[0, 0, 1_200], [1, 1, 1_100]], owner=0, tasks=2) == 1
    assert resized([[0, 0, 1], [1, 1, 2]], 0, -1) == [[1, 1, 2]]
