"""The trends module over real core: hashtag timelines, history, trending, featured and suggested tags."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from cluster.client import ClusterClient
from cluster.testing import FakeClock
from modules.trends import Trends
from modules.trends.scoring import DAY_MS, HOUR_MS, TrendOptions
from tests.modules.core.interaction_support import act
from tests.modules.core.support import delete, post, register
from tests.modules.global_timelines.support import dump_pstates, launched_with
from topology.context import RecordRejected

MODULE = "trends"
START_MS = 1_700_006_400_000  # a UTC midnight


async def tagged(cluster: ClusterClient, tag: str, **kwargs: Any) -> list[int]:
    """A page of a hashtag timeline."""
    result: list[int] = await cluster.query(MODULE, "tag_timeline", tag, **kwargs)
    return result


def test_hashtag_timelines_hold_public_statuses_and_page(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(START_MS)

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(), clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            ids = []
            for i in range(5):
                ids.append(await post(cluster, (alice, bob)[i % 2], f"#Tusk number {i}"))
                clock.advance(10)
            await post(cluster, alice, "#tusk quietly", visibility="unlisted")
            await post(cluster, bob, "#tusk privately", visibility="private")
            await post(cluster, bob, "no tags")
            await cluster.controls.wait_idle()
            newest = ids[::-1]
            assert await tagged(cluster, "tusk") == newest
            assert await tagged(cluster, "TUSK", limit=2) == newest[:2]
            assert await tagged(cluster, "tusk", max_id=newest[1], limit=2) == newest[2:4]
            assert await tagged(cluster, "tusk", min_id=newest[3], limit=2) == newest[1:3]
            assert await tagged(cluster, "tusk", since_id=newest[1]) == newest[:1]
            assert await tagged(cluster, "tusk", local=True) == newest  # every account is local so far
            assert await tagged(cluster, "other") == []
            await delete(cluster, alice, ids[0])
            await cluster.controls.wait_idle()
            assert await tagged(cluster, "tusk") == newest[:-1]

    asyncio.run(scenario())


def test_tag_history_counts_uses_and_distinct_accounts_per_day(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(START_MS + HOUR_MS)

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(), clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await post(cluster, alice, "#rust day one a")
            await post(cluster, alice, "#rust day one b", visibility="unlisted")  # unlisted counts in history
            clock.advance(DAY_MS)
            await post(cluster, alice, "#Rust day two")
            await post(cluster, bob, "#rust day two too")
            await post(cluster, bob, "#rust but direct", visibility="direct")
            await cluster.controls.wait_idle()
            tag = await cluster.query(MODULE, "tag", "RUST")
            assert tag["name"] == "rust"
            first_day = START_MS // 1000
            assert tag["history"][:3] == [
                {"day": str(first_day + 86_400), "uses": "2", "accounts": "2"},
                {"day": str(first_day), "uses": "2", "accounts": "1"},
                {"day": str(first_day - 86_400), "uses": "0", "accounts": "0"},
            ]
            assert len(tag["history"]) == 7

    asyncio.run(scenario())


def test_trending_tags_and_links_rise_above_expectation_and_decay(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(START_MS)
    options = TrendOptions(threshold=3)

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(options), clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}") for i in range(6)]
            for author in accounts[:3]:  # yesterday: #steady by 3 accounts
                await post(cluster, author, "#steady as usual")
            clock.advance(DAY_MS + 30 * 60_000)  # 00:30 the next day
            for author in accounts[:3]:  # today: #steady by the same 3 (no growth), #hot by 6
                await post(cluster, author, "#steady again")
            for author in accounts:
                await post(cluster, author, "#hot take https://news.example/story", uuid=f"hot-{author}")
            await cluster.controls.wait_idle()
            trending = await cluster.query(MODULE, "trending", "tag")
            assert [t["key"] for t in trending] == ["hot"]
            assert trending[0]["score"] == 25.0  # (6 - 1)^2 / 1: nobody used it yesterday
            assert trending[0]["history"][0]["accounts"] == "6"
            links = await cluster.query(MODULE, "trending", "link")
            assert [(t["key"], t["score"]) for t in links] == [("https://news.example/story", 25.0)]
            clock.advance(30 * 60_000 + 2 * HOUR_MS)  # two hours after the end of the hour it peaked in
            assert [t["score"] for t in await cluster.query(MODULE, "trending", "tag")] == [12.5]
            clock.advance(options.cooldown_ms)
            assert await cluster.query(MODULE, "trending", "tag") == []
            assert await cluster.query(MODULE, "trending", "status") == []  # no boosts yet in core

    asyncio.run(scenario())


def test_featured_tags_count_the_accounts_statuses_and_suggest_recent_tags(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(START_MS)

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Trends(featured_limit=2), clock=clock) as cluster:
            alice = await register(cluster, "alice")
            await cluster.append(MODULE, "*featured_tags", {"op": "feature", "account": alice, "tag": "#Python"})
            await cluster.append(MODULE, "*featured_tags", {"op": "feature", "account": alice, "tag": "rust"})
            with pytest.raises(RecordRejected, match="at most 2"):
                await cluster.append(MODULE, "*featured_tags", {"op": "feature", "account": alice, "tag": "go"})
            with pytest.raises(RecordRejected, match="unknown account"):
                await cluster.append(MODULE, "*featured_tags", {"op": "feature", "account": 12345, "tag": "go"})
            with pytest.raises(RecordRejected, match="hashtag name"):
                await cluster.append(MODULE, "*featured_tags", {"op": "feature", "account": alice, "tag": "2024"})
            first = await post(cluster, alice, "#python one")
            clock.advance(1_000)
            await post(cluster, alice, "#python two #django")
            clock.advance(1_000)
            await post(cluster, alice, "#django only")
            await cluster.controls.wait_idle()
            featured = await cluster.query(MODULE, "featured_tags", alice)
            assert [(t["name"], t["statuses_count"]) for t in featured] == [("Python", 2), ("rust", 0)]
            assert featured[0]["last_status_at"] == START_MS + 1_000
            suggested = await cluster.query(MODULE, "suggested_tags", alice)
            assert [(t["name"], t["statuses_count"]) for t in suggested] == [("django", 2), ("python", 2)]
            await delete(cluster, alice, first)
            await cluster.append(MODULE, "*featured_tags", {"op": "unfeature", "account": alice, "tag": "RUST"})
            await cluster.controls.wait_idle()
            assert [(t["name"], t["statuses_count"]) for t in await cluster.query(MODULE, "featured_tags", alice)] == [
                ("Python", 1)
            ]

    asyncio.run(scenario())


def test_replaying_core_statuses_rebuilds_identical_trends(tmp_path: Path, store_kind: str) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    clock = FakeClock(START_MS)

    async def live() -> Any:
        async with launched_with(live_dir, store_kind, Trends(), clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}") for i in range(6)]
            ids = []
            for i in range(40):
                text = f"#tag{i % 4} #common https://site{i % 3}.example/ post {i}"
                visibility = ("public", "unlisted")[i % 2]
                ids.append(await post(cluster, accounts[i % 6], text, uuid=f"post-{i}", visibility=visibility))
                clock.advance(HOUR_MS // 3)
                if i % 9 == 8:
                    await cluster.controls.wait_idle()  # varied batch boundaries on the live run
            for i in range(0, 40, 3):  # favourites and boosts: trending statuses
                await act(cluster, "favourite", accounts[(i + 1) % 6], ids[i])
                await act(cluster, "reblog", accounts[(i + 2) % 6], ids[i])
                clock.advance(HOUR_MS // 5)
            await act(cluster, "unfavourite", accounts[1], ids[0])
            for i in (1, 2, 30):
                await delete(cluster, accounts[i % 6], ids[i])
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await tagged(cluster, "common", limit=40)

    async def replay() -> Any:
        async with launched_with(
            replay_dir, store_kind, Trends(), clock=FakeClock(clock.now_ms()), depots_of=live_dir
        ) as cluster:
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await tagged(cluster, "common", limit=40)

    expected, timeline = asyncio.run(live())
    for module in ("relationships", "core"):
        shutil.copytree(live_dir / module, replay_dir / module)
    (replay_dir / MODULE).mkdir(parents=True)
    shutil.copy(live_dir / MODULE / "module.meta", replay_dir / MODULE / "module.meta")
    rebuilt, replayed_timeline = asyncio.run(replay())
    assert len(timeline) == 18  # 20 public statuses, 2 of them deleted
    assert replayed_timeline == timeline
    assert sum(len(rows) for (_, name), rows in expected.items() if name == "$$hours") > 20
    assert len([1 for (_, name), rows in expected.items() if name == "$$counted_favourites" and rows]) > 1
    assert rebuilt == expected
