"""Trending statuses count boosts (core's statuses) and favourites (core's `*interactions`), each once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.trends import Trends
from modules.trends.scoring import TrendOptions
from tests.modules.core.interaction_support import act, append_again
from tests.modules.core.support import follow, post, register
from tests.modules.global_timelines.support import launched_with

MODULE = "trends"
START_MS = 1_700_006_400_000 + 3_600_000  # 01:00 UTC


async def today(cluster: InProcessCluster, status: int) -> dict[str, Any]:
    """Today's history bucket of a status' counts."""
    usage = await cluster.query(MODULE, "usage", ("status", str(status)))
    day: dict[str, Any] = usage["history"][0]
    return day


def test_favourites_and_boosts_make_a_public_status_trend(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(START_MS)

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(TrendOptions(threshold=3)), clock=clock) as cluster:
            alice = await register(cluster, "alice")
            fans = [await register(cluster, f"fan{i}") for i in range(5)]
            public = await post(cluster, alice, "look at this")
            private = await post(cluster, alice, "friends only", visibility="private")
            for fan in fans:
                await follow(cluster, fan, alice)
            for fan in fans[:4]:
                await act(cluster, "favourite", fan, public)
                await act(cluster, "favourite", fan, private)
                clock.advance(1_000)
            await act(cluster, "reblog", fans[4], public)
            await cluster.controls.wait_idle()
            assert await today(cluster, public) == {"day": str(START_MS // 1000 - 3_600), "uses": "5", "accounts": "5"}
            assert (await today(cluster, private))["uses"] == "0"  # only public and unlisted statuses trend
            trending = await cluster.query(MODULE, "trending", "status")
            assert [(t["key"], t["score"]) for t in trending] == [(str(public), 16.0)]  # (5 - 1)^2 / 1

    asyncio.run(scenario())


def test_a_repeated_favourite_event_counts_once_and_an_unfavourite_keeps_history(
    tmp_path: Path, store_kind: str
) -> None:
    clock = FakeClock(START_MS)

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(), clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "hello")
            await act(cluster, "favourite", bob, status)
            await cluster.controls.wait_idle()
            await append_again(cluster, "core", "*interactions", {"op": "favourited", "account": bob})
            assert (await today(cluster, status))["uses"] == "1"
            await act(cluster, "unfavourite", bob, status)
            clock.advance(1_000)
            await act(cluster, "favourite", bob, status)  # a new favourite: counts again, same account
            await cluster.controls.wait_idle()
            assert await today(cluster, status) == {"day": str(START_MS // 1000 - 3_600), "uses": "2", "accounts": "1"}

    asyncio.run(scenario())


def test_without_interactions_favourites_are_not_counted(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(interactions=False)) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "hello")
            await act(cluster, "favourite", bob, status)
            await cluster.controls.wait_idle()
            assert (await today(cluster, status))["uses"] == "0"

    asyncio.run(scenario())
