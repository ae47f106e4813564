"""Fanout reads follower buckets through the engine's page cache: every committed change, and only those, shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cluster.client import RecordFailedError
from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.core import Core
from modules.relationships import Relationships
from pstates.page_cache import PageCache, shared_cache
from tests.modules.core.support import delivered, follow, follow_all, post, register
from tests.runtimes import active_runtime, new_cluster, skip_on_workers
from topology.module import ModuleBuilder


class SharedSet(set[int]):
    """A set every copy of the module shares (on workers, each task host runs a deep copy of it)."""

    def __deepcopy__(self, _memo: dict[int, Any]) -> SharedSet:
        return self


class RefusingRelationships(Relationships):
    """Relationships whose bucket write for `refused` followers fails after writing: the round aborts."""

    def __init__(self, refused: SharedSet) -> None:
        super().__init__()
        self.refused = refused

    def define(self, m: ModuleBuilder) -> None:
        """Declare as usual, then make `partitioned_put` raise once it wrote a refused follower."""
        super().define(m)
        steps = m.definition.streams["graph"].steps
        steps["partitioned_put"] = self._refusing(steps["partitioned_put"])

    def _refusing(self, put: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def refusing_put(ctx: Any, payload: list[Any]) -> None:
            put(ctx, payload)
            if payload[2] in self.refused:
                raise RuntimeError("injected: the bucket write was made, the round must not commit")

        return refusing_put


@asynccontextmanager
async def cluster_with(
    path: Path, store_kind: str, cache: PageCache, relationships: Relationships | None = None
) -> AsyncIterator[tuple[InProcessCluster, PageCache]]:
    """Yield a cluster running relationships and core, and the page cache its fanout reads through."""
    async with new_cluster(path, store=store_kind, clock=FakeClock(), page_cache=cache) as cluster:
        await cluster.launch(relationships or Relationships(), tasks=4)
        await cluster.launch(Core(), tasks=4)
        yield cluster, shared_cache() if active_runtime().name == "workers" else cache


def test_a_follow_and_an_unfollow_between_two_fanouts_are_seen_by_the_second(tmp_path: Path, store_kind: str) -> None:
    cache = PageCache()

    async def scenario() -> None:
        async with cluster_with(tmp_path, store_kind, cache) as (cluster, used):
            alice = await register(cluster, "alice")
            followers = [await register(cluster, f"f{i}") for i in range(6)]
            late = await register(cluster, "late")
            await follow_all(cluster, followers, alice)
            first = await post(cluster, alice, "one")
            await cluster.controls.wait_idle()
            hits = used.hits
            second = await post(cluster, alice, "two")  # the same buckets again: from the cache
            await cluster.controls.wait_idle()
            assert used.hits > hits
            await follow(cluster, late, alice)
            await follow(cluster, followers[0], alice, op="unfollow")
            third = await post(cluster, alice, "three")
            await cluster.controls.wait_idle()
            assert delivered(cluster, late) == [third]
            assert delivered(cluster, followers[0]) == [second, first]
            for follower in followers[1:]:
                assert delivered(cluster, follower) == [third, second, first]

    asyncio.run(scenario())


def test_a_follow_whose_round_aborted_never_reaches_a_fanout(tmp_path: Path, store_kind: str) -> None:
    cache = PageCache()

    async def scenario() -> None:
        refused = SharedSet()
        async with cluster_with(tmp_path, store_kind, cache, RefusingRelationships(refused)) as (cluster, used):
            alice = await register(cluster, "alice")
            bob, carol = await register(cluster, "bob"), await register(cluster, "carol")
            await follow(cluster, bob, alice)
            first = await post(cluster, alice, "one")  # caches alice's bucket
            await cluster.controls.wait_idle()
            refused.add(carol)
            hits = used.hits
            if active_runtime().name == "workers":  # the hop to the bucket is a record of its own: it alone fails
                await follow(cluster, carol, alice)
                await cluster.controls.wait_idle()
            else:
                with pytest.raises(RecordFailedError):  # every attempt wrote carol into the bucket, then aborted
                    await follow(cluster, carol, alice)
            second = await post(cluster, alice, "two")
            await cluster.controls.wait_idle()
            assert used.hits > hits
            assert delivered(cluster, carol) == []
            assert delivered(cluster, bob) == [second, first]

    asyncio.run(scenario())


def test_a_tiny_budget_evicts_and_every_delivery_is_still_right(tmp_path: Path, store_kind: str) -> None:
    skip_on_workers("task hosts read through their process's shared page cache, not one a test gives")
    cache = PageCache(budget_bytes=3_600)  # room for 4 of these buckets (~790 bytes each): 5 authors evict

    async def scenario() -> None:
        async with cluster_with(tmp_path, store_kind, cache) as (cluster, _):
            authors = [await register(cluster, f"author{i}") for i in range(5)]
            readers = [await register(cluster, f"reader{i}") for i in range(30)]
            followers = {author: readers[n : n + 20] for n, author in enumerate(authors)}
            for author, following in followers.items():
                await follow_all(cluster, following, author)
            posted: dict[int, list[int]] = {reader: [] for reader in readers}
            for round_ in range(3):
                if round_ == 1:  # a change to a bucket that was evicted meanwhile
                    await follow(cluster, readers[25], authors[0])
                    followers[authors[0]] = [*followers[authors[0]], readers[25]]
                for author in authors:
                    for repeat in range(2):  # the second from the cache; the first was evicted since last round
                        status = await post(cluster, author, f"round {round_} {repeat}")
                        await cluster.controls.wait_idle()
                        for reader in followers[author]:
                            posted[reader].append(status)
                        assert cache.used_bytes <= cache.budget_bytes
            for reader in readers:
                assert sorted(delivered(cluster, reader)) == sorted(posted[reader])
            assert cache.hits >= 15 and cache.misses >= 15

    asyncio.run(scenario())
