"""Who to follow: friends of friends first, then the most followed; never the excluded; dismiss sticks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.relationships.support import (
    MODULE,
    act,
    append,
    block,
    follow,
    follow_many,
    launched,
    set_locked,
)

ME = 1


async def suggested(cluster: InProcessCluster, limit: int = 40, now_ms: int | None = None) -> list[Any]:
    """`[account_id, sources]` of ME's suggestions."""
    found = await cluster.query(MODULE, "suggestions", ME, limit, now_ms)
    assert all(
        s["source"] == ("past_interactions" if s["sources"][0] == "friends_of_friends" else "global") for s in found
    )
    return [[s["account_id"], s["sources"]] for s in found]


async def build_graph(cluster: InProcessCluster) -> None:
    """ME follows 2 and 3, who follow 4..9; 20 and 21 are popular; some candidates are excluded."""
    for followee in (2, 3):
        await follow(cluster, ME, followee)
    for follower, followee in ((2, 4), (3, 4), (2, 5), (3, 5), (2, 6), (3, 7), (2, ME), (3, 9)):
        await follow(cluster, follower, followee)
    await follow_many(cluster, range(10, 20), 20)
    await follow_many(cluster, range(10, 15), 21)
    await append(cluster, "*suggestions", {"op": "dismiss", "account": ME, "target": 5})
    await append(cluster, "*mutes", {"op": "mute", "muter": ME, "muted": 7, "duration_s": 60})
    await block(cluster, 9, ME)
    await set_locked(cluster, 8, True)
    await follow(cluster, 3, 8)
    await follow(cluster, ME, 8)  # a pending request: not suggested either


FOF_AND_POPULAR = ["friends_of_friends", "most_followed"]


def test_friends_of_friends_rank_first_then_the_most_followed(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            await build_graph(cluster)
            assert await suggested(cluster) == [
                [4, FOF_AND_POPULAR],  # followed by both of ME's followees
                [6, FOF_AND_POPULAR],
                [20, ["most_followed"]],
                [21, ["most_followed"]],
            ]
            # 6 is not among the 3 most followed, so it is only a friend of a friend here.
            fof = ["friends_of_friends"]
            assert await suggested(cluster, limit=3) == [[4, FOF_AND_POPULAR], [6, fof], [20, ["most_followed"]]]
            assert await cluster.query(MODULE, "dismissed_suggestions", ME) == [5]
            clock.advance(60_000)  # the mute of 7 expires: 7 is a friend of a friend again
            assert [a for a, _ in await suggested(cluster)] == [4, 6, 7, 20, 21]

    asyncio.run(scenario())


def test_popularity_follows_the_follower_counts(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow_many(cluster, range(10, 14), 30)
            await follow_many(cluster, range(10, 13), 31)
            assert (await cluster.query(MODULE, "popular", 3))[:2] == [[4, 30], [3, 31]]
            for follower in (10, 11):
                await act(cluster, "unfollow", follower, 30)
            await block(cluster, 30, 12)
            assert await cluster.query(MODULE, "popular", 10) == [[3, 31], [1, 30]]
            assert await suggested(cluster) == [[31, ["most_followed"]], [30, ["most_followed"]]]

    asyncio.run(scenario())
