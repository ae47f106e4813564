"""The moderation module: reports filed once per client uuid, normalized, readable by id, target and recency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.moderation import Moderation
from tests.runtimes import new_cluster
from topology.context import RecordRejected

MODERATION = "moderation"
START_MS = 1_700_000_000_000


@asynccontextmanager
async def launched(path: Path, store_kind: str, clock: FakeClock) -> AsyncIterator[InProcessCluster]:
    """Yield a cluster running the moderation module alone on `store_kind` storage, on the test's runtime."""
    async with new_cluster(path, store=store_kind, clock=clock) as cluster:
        await cluster.launch(Moderation(), tasks=4)
        yield cluster


def filed(reporter: int, target: int, uuid: str, **fields: Any) -> dict[str, Any]:
    """A `file` record with the given fields over minimal defaults."""
    return {"op": "file", "uuid": uuid, "reporter": reporter, "target": target, **fields}


async def file(cluster: InProcessCluster, record: dict[str, Any]) -> int:
    """Append a report and return its id."""
    report_id: int = (await cluster.append(MODERATION, "*reports", record)).value
    return report_id


def test_a_report_is_stored_once_per_uuid_and_normalized(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, FakeClock(START_MS)) as cluster:
            record = filed(1, 2, "r-1", status_ids=[30, 10, 30], comment="spam links", rule_ids=["2", "1", "2"])
            first = await file(cluster, {**record, "category": "spam"})
            assert await file(cluster, {**record, "comment": "changed"}) == first  # a retry writes nothing
            await cluster.controls.wait_idle()
            stored = await cluster.query(MODERATION, "report", first)
            assert stored == {
                "id": first,
                "uuid": "r-1",
                "reporter": 1,
                "target": 2,
                "status_ids": [10, 30],
                "comment": "spam links",
                "category": "violation",  # citing rules makes it one, as Mastodon
                "rule_ids": ["1", "2"],
                "forward": False,
                "created_at": START_MS,
                "action_taken_at": None,
            }
            assert await cluster.query(MODERATION, "report_for_uuid", 1, "r-1") == first
            assert await cluster.query(MODERATION, "report_for_uuid", 1, "r-2") is None
            plain = await file(cluster, filed(3, 2, "r-1"))  # another reporter may reuse the uuid
            await cluster.controls.wait_idle()
            assert plain != first and (await cluster.query(MODERATION, "report", plain))["category"] == "other"

    asyncio.run(scenario())


def test_reports_are_listed_newest_first_by_target_and_overall(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        clock = FakeClock(START_MS)
        async with launched(tmp_path, store_kind, clock) as cluster:
            ids = []
            for n in range(6):
                ids.append(await file(cluster, filed(10 + n, 2 if n % 2 == 0 else 3, f"u{n}", category="spam")))
                clock.advance(1_000)
            await cluster.controls.wait_idle()
            assert ids == sorted(ids) and len(set(ids)) == 6  # time-ordered, distinct across tasks
            against_two = await cluster.query(MODERATION, "reports_against", 2)
            assert against_two == [ids[4], ids[2], ids[0]]
            assert await cluster.query(MODERATION, "reports_against", 2, ids[4], 1) == [ids[2]]
            assert await cluster.query(MODERATION, "reports_against", 99) == []
            newest = await cluster.query(MODERATION, "reports_here", None, 3)
            assert [found["id"] for found in newest][:3] == ids[::-1][:3]
            older = await cluster.query(MODERATION, "reports_here", ids[2], 20)
            assert [found["id"] for found in older] == [ids[1], ids[0]]

    asyncio.run(scenario())


BAD = [
    ({"target": 1}, "cannot report itself"),
    ({"comment": "x" * 1_001}, "at most 1000 characters"),
    ({"category": "rude"}, "category must be one of"),
    ({"rule_ids": ["one"]}, "rule ids"),
    ({"status_ids": [0]}, "positive 64-bit id"),
    ({"status_ids": list(range(1, 102))}, "at most 100 ids"),
    ({"forward": "yes"}, "forward must be a boolean"),
    ({"uuid": ""}, "uuid must be"),
    ({"op": "erase"}, "unknown op"),
    ({"reporter": "1"}, "reporter must be"),
]


def test_bad_reports_are_rejected_with_a_reason(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, FakeClock(START_MS)) as cluster:
            for change, message in BAD:
                with pytest.raises(RecordRejected, match=message):
                    await file(cluster, {**filed(1, 2, "u"), **change})
            assert await cluster.query(MODERATION, "reports_here", None, 20) == []

    asyncio.run(scenario())
