"""Dismiss, clear, markers and unread counts, paging and the type and account filters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act
from tests.modules.core.support import follow, post, register
from tests.modules.notifications.support import MODULE, kinds, launched, op, received
from topology.context import RecordRejected


def test_paging_filters_dismiss_and_clear(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            statuses = []
            for i in range(5):
                statuses.append(await post(cluster, bob, f"@alice {i}", mentions=[alice]))
                clock.advance(1)
            await follow(cluster, carol, alice)
            ids = [n["id"] for n in await received(cluster, alice)]
            assert len(ids) == 6 and ids == sorted(ids, reverse=True)
            assert [n["id"] for n in await received(cluster, alice, max_id=ids[1], limit=2)] == ids[2:4]
            assert [n["id"] for n in await received(cluster, alice, since_id=ids[3])] == ids[:3]
            assert [n["id"] for n in await received(cluster, alice, min_id=ids[4], limit=2)] == ids[2:4]
            assert await kinds(cluster, alice, types=["follow"]) == [("follow", carol, None)]
            assert len(await received(cluster, alice, exclude_types=["follow"])) == 5
            assert len(await received(cluster, alice, from_account=carol)) == 1
            assert await op(cluster, {"op": "dismiss", "account": alice, "id": ids[0]}) is True
            assert await op(cluster, {"op": "dismiss", "account": alice, "id": ids[0]}) is False
            assert await cluster.query(MODULE, "notification", alice, ids[0]) is None
            await act(cluster, "favourite", carol, statuses[0])  # bob's status: bob hears of it
            await op(cluster, {"op": "clear", "account": alice})
            assert await received(cluster, alice) == [] and len(await received(cluster, bob)) == 1
            await post(cluster, bob, "@alice again", mentions=[alice])
            assert len(await received(cluster, alice)) == 1
            with pytest.raises(RecordRejected, match="unknown op"):
                await op(cluster, {"op": "explode", "account": alice})

    asyncio.run(scenario())


def test_markers_and_unread_count(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            for i in range(4):
                await post(cluster, bob, f"@alice {i}", mentions=[alice])
                clock.advance(1)
            ids = [n["id"] for n in await received(cluster, alice)]
            assert await cluster.query(MODULE, "unread_count", alice) == 4
            assert await cluster.query(MODULE, "markers", alice) == {}
            first = await op(
                cluster, {"op": "marker", "account": alice, "timeline": "notifications", "last_read_id": ids[2]}
            )
            assert first == {"last_read_id": ids[2], "version": 0, "updated_at": clock.now_ms()}
            assert await cluster.query(MODULE, "unread_count", alice) == 2
            assert await cluster.query(MODULE, "unread_count", alice, 1) == 1
            assert await cluster.query(MODULE, "unread_count", alice, types=["follow"]) == 0
            clock.advance(5_000)
            same = {"op": "marker", "account": alice, "timeline": "notifications", "last_read_id": ids[2]}
            assert await op(cluster, same) == first  # no change: no new version
            moved = await op(cluster, {**same, "last_read_id": ids[0]})
            assert moved == {"last_read_id": ids[0], "version": 1, "updated_at": clock.now_ms()}
            await op(cluster, {"op": "marker", "account": alice, "timeline": "home", "last_read_id": 42})
            assert await cluster.query(MODULE, "unread_count", alice) == 0
            markers = await cluster.query(MODULE, "markers", alice)
            assert set(markers) == {"home", "notifications"} and markers["notifications"] == moved
            assert set(await cluster.query(MODULE, "markers", alice, ["home"])) == {"home"}
            with pytest.raises(RecordRejected, match="timeline must be"):
                await op(cluster, {"op": "marker", "account": alice, "timeline": "public", "last_read_id": 1})

    asyncio.run(scenario())
