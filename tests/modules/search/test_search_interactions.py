"""Statuses an account favourited or bookmarked are searchable by it until it takes that back."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.search import Search
from tests.modules.core.interaction_support import act, append_again
from tests.modules.core.support import delete, post, register
from tests.modules.global_timelines.support import dump_pstates, launched_with

MODULE = "search"


async def found(cluster: InProcessCluster, account: int, q: str) -> list[int]:
    """Ids of the statuses `account` finds with `q`, once every module is idle."""
    await cluster.controls.wait_idle()
    result: list[int] = await cluster.query(MODULE, "statuses", account, q)
    return result


def test_favourited_and_bookmarked_statuses_are_searchable_until_taken_back(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Search(), clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            giraffes = await post(cluster, alice, "Giraffes at dawn")
            clock.advance(5)
            zebras = await post(cluster, alice, "zebras at dusk")
            assert await found(cluster, bob, "at") == []
            await act(cluster, "favourite", bob, giraffes)
            await act(cluster, "bookmark", bob, zebras)
            assert await found(cluster, bob, "at") == [zebras, giraffes]
            assert await found(cluster, bob, "giraffes dawn") == [giraffes]
            await act(cluster, "bookmark", bob, giraffes)
            await act(cluster, "unfavourite", bob, giraffes)  # still bookmarked
            assert await found(cluster, bob, "giraffes") == [giraffes]
            await act(cluster, "unbookmark", bob, giraffes)
            await act(cluster, "unbookmark", bob, zebras)
            assert await found(cluster, bob, "at") == []
            clock.advance(5)
            await act(cluster, "favourite", bob, zebras)  # again: a newer favourite id
            assert await found(cluster, bob, "zebras") == [zebras]
            assert await found(cluster, alice, "at") == [zebras, giraffes]  # the author's own index is untouched

    asyncio.run(scenario())


def test_taking_back_a_favourite_keeps_ones_own_status_and_repeats_change_nothing(
    tmp_path: Path, store_kind: str
) -> None:
    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Search()) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            own = await post(cluster, alice, "my own okapi")
            mention = await post(cluster, bob, "okapi for alice", mentions=[alice])
            other = await post(cluster, bob, "another okapi")
            for status in (own, mention, other):
                await act(cluster, "favourite", alice, status)
                await act(cluster, "unfavourite", alice, status)
            assert await found(cluster, alice, "okapi") == [mention, own]
            await append_again(cluster, "core", "*interactions", {"op": "favourited", "status": other})
            assert await found(cluster, alice, "okapi") == [mention, own]  # an old event after its undoing

    asyncio.run(scenario())


def test_replaying_interactions_rebuilds_identical_indexes(tmp_path: Path, store_kind: str) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    clock = FakeClock()

    async def live() -> Any:
        async with launched_with(live_dir, store_kind, Search(), clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}") for i in range(4)]
            ids = [await post(cluster, accounts[i % 4], f"word{i % 3} shared", uuid=f"s{i}") for i in range(12)]
            for i, status in enumerate(ids):
                actor = accounts[(i + 1) % 4]
                await act(cluster, ("favourite", "bookmark")[i % 2], actor, status)
                clock.advance(7)
                if i % 3 == 0:
                    await act(cluster, ("unfavourite", "unbookmark")[i % 2], actor, status)
            await delete(cluster, accounts[0], ids[4])  # favourited, then deleted: its words stay indexed
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await found(cluster, accounts[1], "shared")

    async def replay() -> Any:
        async with launched_with(
            replay_dir, store_kind, Search(), clock=FakeClock(clock.now_ms()), depots_of=live_dir
        ) as cluster:
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE))

    expected, shared = asyncio.run(live())
    for module in ("relationships", "core"):
        shutil.copytree(live_dir / module, replay_dir / module)
    (replay_dir / MODULE).mkdir(parents=True)
    shutil.copy(live_dir / MODULE / "module.meta", replay_dir / MODULE / "module.meta")
    rebuilt = asyncio.run(replay())
    assert len(shared) == 4  # user1's three own statuses and one favourite it kept (the deleted one dropped)
    assert rebuilt == expected
