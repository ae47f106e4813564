"""Pages of who boosted a status, scheduled statuses and direct conversations take Mastodon's lower bounds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.content_support import MINUTE_MS, schedule
from tests.modules.core.interaction_support import act
from tests.modules.core.support import CORE, launched, post, register


async def cursors(cluster: InProcessCluster, query: str, key: int, cursor: str, **bounds: Any) -> list[int]:
    """The cursors of one page of `query` for `key` (rows are [cursor, item] pairs or dicts)."""
    await cluster.controls.wait_idle()
    rows = await cluster.query(CORE, query, key, **bounds)
    return [row[0] if isinstance(row, list) else row[cursor] for row in rows]


def check_bounds(newest_first: list[int], page: list[int], since: list[int], above: list[int]) -> None:
    """Five rows: limit 2 below the newest; since_id the newest two above the oldest; min_id the two just above it."""
    assert page == newest_first[1:3]
    assert since == newest_first[:2]
    assert above == newest_first[2:4]


def test_reblogged_by_scheduled_and_conversations_page_between_bounds(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            others = [await register(cluster, f"user{i}") for i in range(5)]
            status = await post(cluster, alice, "boost me")
            for i, account in enumerate(others):
                await act(cluster, "reblog", account, status)
                await schedule(cluster, alice, f"s{i}", clock.now_ms() + (60 + i) * MINUTE_MS, text=f"later {i}")
                await post(cluster, alice, f"dm {i}", visibility="direct", mentions=[account])
                clock.advance(10)
            for query, key, cursor in (
                ("reblogged_by", status, ""),
                ("scheduled_statuses", alice, "id"),
                ("direct_conversations", alice, "last_status"),
            ):
                everything = await cursors(cluster, query, key, cursor, limit=40)
                assert len(everything) == 5 and everything == sorted(everything, reverse=True), query
                oldest = everything[-1]
                check_bounds(
                    everything,
                    await cursors(cluster, query, key, cursor, max_id=everything[0], limit=2),
                    await cursors(cluster, query, key, cursor, since_id=oldest, limit=2),
                    await cursors(cluster, query, key, cursor, min_id=everything[4], limit=2),
                )
                assert await cursors(cluster, query, key, cursor, min_id=everything[1], max_id=everything[0]) == []

    asyncio.run(scenario())
