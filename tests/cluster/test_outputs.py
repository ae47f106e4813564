"""Module outputs: events published after commit, in order, bounded per subscriber, live only, on both stores."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.client import Ack, OutputEvent, RecordFailedError, Subscription
from cluster.inprocess import InProcessCluster
from cluster.outputs import UnknownOutputError
from depots.declaration import hash_by
from pstates.schema import Map
from topology.context import Batch, BatchContext, StreamContext
from topology.module import DefinitionError, Module, ModuleBuilder

WAIT_S = 10.0


class Emitter(Module):
    """A stream topology emitting each stored item, a microbatch emitting each counted one; faults on demand."""

    name = "emitter"

    def __init__(self) -> None:
        self.stream_failures = 0  # the stream handler raises after emitting while this is positive
        self.batch_failures = 0  # the microbatch handler raises after emitting while this is positive
        self.emit_to = "seen"

    def define(self, m: ModuleBuilder) -> None:
        m.depot("*items", hash_by(lambda r: r["key"]))  # type: ignore[index]
        m.output("seen")
        m.output("counted")
        store = m.stream("store", max_attempts=3)
        store.pstate("$$items", Map(str, int))
        store.source("*items", self.store)
        count = m.microbatch("count")
        count.pstate("$$counts", Map(str, int))
        count.source("*items", self.count)

    def store(self, ctx: StreamContext, record: dict[str, Any]) -> None:
        ctx.pstate("$$items").put(record["key"], record["n"])
        ctx.emit(self.emit_to, {"key": record["key"], "n": record["n"]})
        if self.stream_failures > 0:
            self.stream_failures -= 1
            raise RuntimeError("injected: the stream record fails after emitting")

    def count(self, ctx: BatchContext, batch: Batch) -> None:
        counts = ctx.pstate("$$counts")
        for record in batch.values:
            counts.put(record["key"], counts.get(record["key"], 0) + 1)
            ctx.emit("counted", {"n": record["n"], "batch": ctx.batch_id})
        if self.batch_failures > 0:
            self.batch_failures -= 1
            raise RuntimeError("injected: the batch fails after emitting")


async def _launch(tmp_path: Path, store_kind: str, module: Emitter | None = None) -> InProcessCluster:
    cluster = InProcessCluster(tmp_path, store=store_kind)
    await cluster.launch(module or Emitter(), tasks=4)
    return cluster


async def _append(cluster: InProcessCluster, numbers: range, key: str | None = None, ack: Ack = Ack.PROCESSED) -> None:
    for n in numbers:
        await cluster.append("emitter", "*items", {"key": key or f"k{n % 7}", "n": n}, ack=ack)


async def _take(subscription: Subscription, count: int) -> list[OutputEvent]:
    return [await asyncio.wait_for(subscription.next(), WAIT_S) for _ in range(count)]


def test_stream_events_arrive_in_order_after_their_writes_commit(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with await _launch(tmp_path, store_kind) as cluster:
            subscription = await cluster.subscribe("emitter", "seen")
            items = cluster.pstate("emitter", "$$items")
            await _append(cluster, range(30), key="one-partition")
            events = await _take(subscription, 30)
            assert [e.value["n"] for e in events] == list(range(30))
            assert {(e.module, e.output) for e in events} == {("emitter", "seen")}
            # An event is published after its record's writes commit: the write is visible by then.
            assert await items.get("one-partition") == 29

    asyncio.run(scenario())


def test_events_of_a_failed_stream_attempt_are_never_published(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        module = Emitter()
        module.stream_failures = 2  # the group fails, then the first record alone fails once more
        async with await _launch(tmp_path, store_kind, module) as cluster:
            subscription = await cluster.subscribe("emitter", "seen")
            cluster.controls.pause("emitter", "store")
            await _append(cluster, range(5), key="k", ack=Ack.APPENDED)
            cluster.controls.resume("emitter", "store")
            await cluster.controls.wait_processed("emitter", "store", 5)
            assert [e.value["n"] for e in await _take(subscription, 5)] == [0, 1, 2, 3, 4]
            assert subscription.pending == 0

    asyncio.run(scenario())


def test_microbatch_events_wait_for_every_task_to_commit(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with await _launch(tmp_path, store_kind) as cluster:
            subscription = await cluster.subscribe("emitter", "counted")
            seen_at_commit: list[int] = []

            def fail_after_first_commit(module: str, topology: str, task: int, ordinal: int) -> None:
                if topology == "count" and ordinal == 0 and not seen_at_commit:
                    seen_at_commit.append(subscription.pending)
                    raise OSError("injected: the second task's commit fails")

            cluster.controls.pause("emitter", "count")
            await _append(cluster, range(40), ack=Ack.APPENDED)
            cluster.controls.on_task_committed = fail_after_first_commit
            cluster.controls.resume("emitter", "count")
            await cluster.controls.wait_processed("emitter", "count", 40)
            assert seen_at_commit == [0]  # a task had committed, the batch had not: nothing published
            events = await _take(subscription, 40)
            assert sorted(e.value["n"] for e in events) == list(range(40))
            assert len({e.value["batch"] for e in events}) == 1  # the retry kept the batch id

    asyncio.run(scenario())


def test_a_retried_microbatch_publishes_only_its_committed_attempt(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        module = Emitter()
        async with await _launch(tmp_path, store_kind, module) as cluster:
            subscription = await cluster.subscribe("emitter", "counted", "seen")
            cluster.controls.pause("emitter", "count")
            await _append(cluster, range(12))
            seen = await _take(subscription, 12)
            assert {e.output for e in seen} == {"seen"}
            module.batch_failures = 2
            cluster.controls.resume("emitter", "count")
            await cluster.controls.wait_processed("emitter", "count", 12)
            counted = await _take(subscription, 12)
            assert sorted(e.value["n"] for e in counted) == list(range(12))
            assert subscription.pending == 0

    asyncio.run(scenario())


def test_unsubscribe_stops_delivery_and_ends_iteration(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with await _launch(tmp_path, store_kind) as cluster:
            leaving = await cluster.subscribe("emitter", "seen")
            staying = await cluster.subscribe("emitter", "seen")
            await _append(cluster, range(3))
            assert len(await _take(leaving, 3)) == 3
            leaving.close()
            leaving.close()  # idempotent
            await _append(cluster, range(3, 6))
            assert [e.value["n"] for e in await _take(staying, 6)] == list(range(6))
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(leaving.next(), WAIT_S)
            assert [e async for e in leaving] == []
            assert cluster.outputs.channel("emitter", "seen").subscribers == [staying]

    asyncio.run(scenario())


def test_a_slow_subscriber_keeps_the_newest_events_and_never_blocks_topologies(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with await _launch(tmp_path, store_kind) as cluster:
            slow = await cluster.subscribe("emitter", "seen", max_pending=3)
            fast = await cluster.subscribe("emitter", "seen")
            await _append(cluster, range(10), key="k")
            await cluster.controls.wait_idle()  # nobody read anything, yet every topology finished
            assert (slow.dropped, slow.pending) == (7, 3)
            assert [e.value["n"] for e in await _take(slow, 3)] == [7, 8, 9]
            assert [e.value["n"] for e in await _take(fast, 10)] == list(range(10))
            assert fast.dropped == 0

    asyncio.run(scenario())


def test_outputs_are_live_only_and_unwatched_emits_are_skipped(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        module = Emitter()
        async with await _launch(tmp_path, store_kind, module) as cluster:
            await _append(cluster, range(5))
            await cluster.controls.wait_idle()
            late = await cluster.subscribe("emitter", "seen", "counted")
            await _append(cluster, range(5, 6))
            await cluster.controls.wait_idle()
            assert sorted((e.output, e.value["n"]) for e in await _take(late, 2)) == [("counted", 5), ("seen", 5)]
            assert late.pending == 0

    asyncio.run(scenario())


def test_emitting_on_an_undeclared_output_fails_the_record(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        module = Emitter()
        module.emit_to = "nowhere"
        async with await _launch(tmp_path, store_kind, module) as cluster:
            with pytest.raises(RecordFailedError, match="no output 'nowhere'"):
                await _append(cluster, range(1))
            with pytest.raises(UnknownOutputError, match="it declares: counted, seen"):
                await cluster.subscribe("emitter", "nowhere")
            with pytest.raises(ValueError, match="at least one output"):
                await cluster.subscribe("emitter")

    asyncio.run(scenario())


def test_closing_the_cluster_ends_every_subscription(tmp_path: Path) -> None:
    async def scenario() -> None:
        cluster = await _launch(tmp_path, "memory")
        subscription = await cluster.subscribe("emitter", "seen")
        waiting = asyncio.ensure_future(subscription.next())
        await cluster.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, WAIT_S)

    asyncio.run(scenario())


def test_output_declarations_are_checked() -> None:
    class Twice(Module):
        name = "twice"

        def define(self, m: ModuleBuilder) -> None:
            m.output("events")
            m.output("events")

    class BadName(Module):
        name = "bad"

        def define(self, m: ModuleBuilder) -> None:
            m.output("*events")

    with pytest.raises(DefinitionError, match="declared twice"):
        Twice().definition()
    with pytest.raises(DefinitionError, match="identifiers"):
        BadName().definition()
