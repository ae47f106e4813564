"""Local and federated public timelines: what goes in, paging, filters, deletes, the cap, replay."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from cluster.testing import FakeClock
from modules.core.ids import task_key
from modules.global_timelines import GlobalTimelines
from modules.global_timelines.timelines import PublicTimelines
from tests.modules.core.support import delete, post, register
from tests.modules.global_timelines.support import dump_pstates, launched_with
from topology.context import Batch

MODULE = "global_timelines"


async def public(cluster: Any, scope: str = "local", **kwargs: Any) -> list[int]:
    """A page of a public timeline."""
    result: list[int] = await cluster.query(MODULE, "public_timeline", scope, **kwargs)
    return result


def test_public_non_boost_statuses_newest_first_with_paging(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, GlobalTimelines(), clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            ids = []
            for i in range(6):
                ids.append(await post(cluster, (alice, bob, carol)[i % 3], f"public {i}"))
                clock.advance(3)
            for visibility in ("unlisted", "private", "direct"):
                await post(cluster, alice, f"not public {visibility}", visibility=visibility)
            await cluster.controls.wait_idle()
            newest_first = sorted(ids, reverse=True)
            assert await public(cluster) == newest_first
            assert await public(cluster, "federated") == newest_first
            assert await public(cluster, "remote") == []
            assert await public(cluster, limit=2) == newest_first[:2]
            assert await public(cluster, max_id=newest_first[1], limit=2) == newest_first[2:4]
            assert await public(cluster, since_id=newest_first[3]) == newest_first[:3]
            assert await public(cluster, min_id=newest_first[4], limit=2) == newest_first[2:4]

    asyncio.run(scenario())


def test_replies_to_others_only_with_replies_and_deletes_leave(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, GlobalTimelines()) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            question = await post(cluster, alice, "question")
            answer = await post(cluster, bob, "answer", in_reply_to=question)
            follow_up = await post(cluster, alice, "and also", in_reply_to=question)  # a self-reply stays
            doomed = await post(cluster, bob, "oops")
            await cluster.controls.wait_idle()
            assert await public(cluster) == [doomed, follow_up, question]
            assert await public(cluster, with_replies=True) == [doomed, follow_up, answer, question]
            assert await public(cluster, only_media=True) == []  # no Delivery carries media yet
            await delete(cluster, bob, doomed)
            await cluster.controls.wait_idle()
            assert await public(cluster, "federated") == [follow_up, question]

    asyncio.run(scenario())


def test_each_task_keeps_only_the_newest_cap_ids(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, GlobalTimelines(cap=3), clock=clock) as cluster:
            alice = await register(cluster, "alice")
            cluster.controls.pause(MODULE, "public_timelines")
            ids = []
            for i in range(10):
                ids.append(await post(cluster, alice, f"post {i}"))
                clock.advance(1)
            cluster.controls.resume(MODULE, "public_timelines")
            await cluster.controls.wait_idle()
            assert await public(cluster, limit=40) == ids[::-1][:3]  # one author: one task's part
            runtime = cluster.runtime(MODULE)
            sizes = [
                runtime.committed_view(task, "$$public_statuses").size(task_key("local", task, 4, runtime.task_of))
                for task in range(4)
            ]
            assert sorted(sizes) == [0, 0, 0, 3]

    asyncio.run(scenario())


class RecordingTimelines:
    """A stand-in PState view that counts writes (a unit test of the handler's write bound)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[Any, int], Any] = {}
        self.writes = 0

    def put(self, key: Any, status_id: int, value: Any) -> None:
        self.writes += 1
        self.rows[(key, status_id)] = value

    def contains(self, key: Any, status_id: int) -> bool:
        return (key, status_id) in self.rows

    def size(self, key: Any) -> int:
        return sum(1 for k, _ in self.rows if k == key)

    def range(self, key: Any, limit: int) -> list[tuple[int, Any]]:
        return sorted((i, v) for (k, i), v in self.rows.items() if k == key)[:limit]

    def remove(self, key: Any, status_id: int) -> bool:
        self.writes += 1
        return self.rows.pop((key, status_id), None) is not None


class RecordingContext:
    """Just what `PublicTimelines.on_statuses` reads from its context."""

    task, tasks = 0, 1

    def __init__(self) -> None:
        self.timelines = RecordingTimelines()

    def pstate(self, name: str) -> RecordingTimelines:
        return self.timelines

    def task_of(self, key: object) -> int:
        return 0


def test_a_batch_writes_at_most_cap_entries_per_timeline_whatever_its_size() -> None:
    cap = 100
    for statuses in (10, 1_000, 20_000):
        ctx = RecordingContext()
        records = [
            {"op": "create", "status": {"id": i, "author": 1, "visibility": "public", "reblog_of": None}}
            for i in range(1, statuses + 1)
        ]
        PublicTimelines(cap).on_statuses(ctx, Batch("*statuses_with_id", 0, 0, records, [0] * statuses))  # type: ignore[arg-type]
        assert ctx.timelines.writes == min(statuses, cap)
        assert [i for i, _ in ctx.timelines.range(("local", 0), limit=cap)] == list(
            range(max(1, statuses - cap + 1), statuses + 1)
        )


def test_replaying_core_statuses_rebuilds_identical_timelines(tmp_path: Path, store_kind: str) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    clock = FakeClock()

    async def live() -> Any:
        async with launched_with(live_dir, store_kind, GlobalTimelines(cap=4), clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}") for i in range(5)]
            ids = []
            for i in range(30):
                visibility = ("public", "public", "unlisted")[i % 3]
                ids.append(await post(cluster, accounts[i % 5], f"status {i}", visibility=visibility))
                clock.advance(2)
                if i % 7 == 6:
                    await cluster.controls.wait_idle()  # varied batch boundaries on the live run
            for i in (0, 3, 28):
                await delete(cluster, accounts[i % 5], ids[i])
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await public(cluster, limit=40)

    async def replay() -> Any:
        async with launched_with(
            replay_dir, store_kind, GlobalTimelines(cap=4), clock=FakeClock(), depots_of=live_dir
        ) as cluster:
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await public(cluster, limit=40)

    expected, timeline = asyncio.run(live())
    for module in ("relationships", "core"):
        shutil.copytree(live_dir / module, replay_dir / module)
    (replay_dir / MODULE).mkdir(parents=True)
    shutil.copy(live_dir / MODULE / "module.meta", replay_dir / MODULE / "module.meta")
    rebuilt, replayed_timeline = asyncio.run(replay())
    assert len(timeline) > 5
    assert replayed_timeline == timeline
    assert rebuilt == expected
