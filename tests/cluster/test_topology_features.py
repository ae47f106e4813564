"""Hops, task globals, ticks on a fake clock, mirrors and pause / resume, on both store backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.client import Ack
from cluster.contexts import EmbeddedReadContext
from cluster.testing import FakeClock
from depots.declaration import global_partition, hash_by, internal
from depots.errors import InternalDepotError
from pstates.schema import Map, SortedSet
from tests.runtimes import Runtime, new_cluster
from topology.context import Batch, BatchContext, StepNotFoundError, StreamContext, TopologyContext
from topology.module import DefinitionError, Module, ModuleBuilder, all_tasks, by_key, on_task


def _concatenate(lists: list[list[str]]) -> list[str]:
    return [item for items in lists for item in items]


class Social(Module):
    """Follows with a stream hop to the followee's task, ticks, an internal depot and a task global."""

    name = "social"

    def define(self, m: ModuleBuilder) -> None:
        m.depot("*follows", hash_by(lambda r: r["follower"]))  # type: ignore[index]
        m.depot("*announcements", global_partition())
        m.depot("*followed_events", internal(lambda r: r["followee"]))  # type: ignore[index]
        m.tick_depot("*minute", every_ms=60_000)
        graph = m.stream("graph")
        graph.pstate("$$following", Map(str, SortedSet(str)))
        graph.pstate("$$followers", Map(str, SortedSet(str)))
        graph.source("*follows", self.follow)
        graph.step(self.add_follower)
        graph.source("*announcements", self.announce)
        graph.pstate("$$announcements", Map(int, str))
        clock = m.microbatch("clock")
        clock.pstate("$$ticks", Map(int, int))
        clock.source("*minute", self.count_tick)
        events = m.microbatch("events")
        events.pstate("$$followed_count", Map(str, int))
        events.source("*followed_events", self.count_followed)
        m.task_global("greeting", lambda ctx: f"task {ctx.task} of {ctx.tasks}")
        m.query(
            "followers",
            lambda ctx, user: ctx.pstate("$$followers").range(user),
        )
        m.query("greetings", lambda ctx: [ctx.task_global("greeting")], route=all_tasks(_concatenate))

    def follow(self, ctx: StreamContext, record: dict[str, str]) -> str:
        ctx.pstate("$$following").add(record["follower"], record["followee"])
        ctx.hop(record["followee"], self.add_follower, record)
        ctx.append("*followed_events", {"followee": record["followee"]})
        return f"{record['follower']} on task {ctx.task}"

    def add_follower(self, ctx: TopologyContext, record: dict[str, str]) -> None:
        assert ctx.task == ctx.task_of(record["followee"])
        ctx.pstate("$$followers").add(record["followee"], record["follower"])

    def announce(self, ctx: StreamContext, text: str) -> int:
        ctx.pstate("$$announcements").put(ctx.offset, text)
        return ctx.task

    def count_tick(self, ctx: BatchContext, batch: Batch) -> None:
        ticks = ctx.pstate("$$ticks")
        for time_ms in batch.values:
            ticks.put(ctx.task, ticks.get(ctx.task, 0) + 1)
            assert time_ms % 60_000 == 0 or time_ms > 0

    def count_followed(self, ctx: BatchContext, batch: Batch) -> None:
        counts = ctx.pstate("$$followed_count")
        for event in batch.values:
            counts.put(event["followee"], counts.get(event["followee"], 0) + 1)


class Reader(Module):
    """Mirrors social's depot and PState."""

    name = "reader"

    def define(self, m: ModuleBuilder) -> None:
        seen = m.stream("seen")
        seen.pstate("$$follower_counts", Map(str, int))
        seen.source("*follows", self.on_follow, module="social")

    def on_follow(self, ctx: StreamContext, record: dict[str, str]) -> int:
        followers = ctx.pstate("$$followers", module="social")
        count = int(followers.size(record["followee"]))
        assert ctx.query("social", "followers", record["followee"]) == followers.range(record["followee"])
        ctx.pstate("$$follower_counts").put(record["followee"], count)
        return count


def test_hops_internal_depots_and_task_globals(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind, clock=FakeClock()) as cluster:
            await cluster.launch(Social(), tasks=4)
            for follower in ("ann", "bob", "cat", "dan"):
                await cluster.append("social", "*follows", {"follower": follower, "followee": "zoe"})
            assert await cluster.query("social", "followers", "zoe") == ["ann", "bob", "cat", "dan"]
            assert await cluster.pstate("social", "$$following").range("bob") == ["zoe"]
            await cluster.controls.wait_idle()
            assert await cluster.pstate("social", "$$followed_count").get("zoe") == 4
            assert await cluster.query("social", "greetings") == [f"task {t} of 4" for t in range(4)]
            with pytest.raises(InternalDepotError):
                await cluster.append("social", "*followed_events", {"followee": "zoe"})
            result = await cluster.append("social", "*announcements", "hello")
            assert result.partition == 0 and result.value == 0  # global depot: one partition, task 0

    asyncio.run(scenario())


def test_ticks_follow_the_fake_clock(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with new_cluster(tmp_path, clock=clock) as cluster:
            runtime = await cluster.launch(Social(), tasks=2)

            def ticks_per_task() -> list[int | None]:
                # Each task counts under its own number, on its own partition (not the key's owner).
                return [runtime.committed_view(t, "$$ticks").get(t) for t in range(runtime.tasks)]

            clock.advance(59_999)
            await cluster.controls.wait_idle()
            assert ticks_per_task() == [None, None]
            clock.advance(1)
            await cluster.controls.wait_idle()
            assert ticks_per_task() == [1, 1]
            clock.advance(60_000)
            await cluster.controls.wait_idle()
            assert ticks_per_task() == [2, 2]

    asyncio.run(scenario())


def test_mirror_reads_another_modules_depot_and_pstate(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            with pytest.raises(DefinitionError, match="launch 'social' first"):
                await cluster.launch(Reader(), tasks=2)
            await cluster.launch(Social(), tasks=4)
            await cluster.launch(Reader(), tasks=2)
            cluster.controls.pause("reader", "seen")
            result = await cluster.append(
                "social", "*follows", {"follower": "ann", "followee": "zoe"}, ack=Ack.APPENDED
            )
            # Topologies are not ordered against each other: let social's graph write first.
            await cluster.controls.wait_processed("social", "graph", 1)
            cluster.controls.resume("reader", "seen")
            await cluster.controls.wait_idle()
            assert result.offset == 0
            assert await cluster.pstate("reader", "$$follower_counts").get("zoe") == 1

    asyncio.run(scenario())


def test_pause_holds_records_until_resume(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            await cluster.launch(Social(), tasks=2)
            cluster.controls.pause("social", "graph")
            await cluster.append("social", "*follows", {"follower": "a", "followee": "b"}, ack=Ack.APPENDED)
            await cluster.controls.wait_idle()  # the paused topology is not waited for
            assert await cluster.pstate("social", "$$following").size("a") == 0
            cluster.controls.resume("social", "graph")
            await cluster.controls.wait_processed("social", "graph", 1)
            assert await cluster.pstate("social", "$$following").size("a") == 1

    asyncio.run(scenario())


def test_hop_to_an_undeclared_step_is_a_clear_error(tmp_path: Path, runtime: Runtime) -> None:
    class Broken(Module):
        name = "broken"

        def define(self, m: ModuleBuilder) -> None:
            m.depot("*in", hash_by(lambda r: r))
            s = m.stream("s", max_attempts=1)
            s.source("*in", lambda ctx, r: ctx.hop(r, "missing", r))

    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            await cluster.launch(Broken(), tasks=2)
            with pytest.raises(Exception, match=r"gave up.*no step 'missing'"):
                await cluster.append("broken", "*in", 1)

    asyncio.run(scenario())
    assert StepNotFoundError


def test_declarations_are_checked() -> None:
    class NoDepot(Module):
        name = "nodepot"

        def define(self, m: ModuleBuilder) -> None:
            m.stream("s").source("*missing", lambda ctx, r: None)

    with pytest.raises(DefinitionError, match="does not declare"):
        NoDepot().definition()

    class BadName(Module):
        name = "badname"

        def define(self, m: ModuleBuilder) -> None:
            m.stream("s").pstate("counts", Map(str, int))

    with pytest.raises(DefinitionError, match=r"start with '\$\$'"):
        BadName().definition()


class Heartbeat(Module):
    """A fast tick depot, to run the real-clock tick loop."""

    name = "heartbeat"

    def define(self, m: ModuleBuilder) -> None:
        m.tick_depot("*beat", every_ms=5)
        beats = m.microbatch("beats")
        beats.pstate("$$beats", Map(int, int))
        beats.source("*beat", self.count)

    def count(self, ctx: BatchContext, batch: Batch) -> None:
        beats = ctx.pstate("$$beats")
        beats.put(ctx.task, beats.get(ctx.task, 0) + len(batch))


def test_ticks_follow_the_system_clock(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            runtime = await cluster.launch(Heartbeat(), tasks=2)
            await cluster.controls.wait_processed("heartbeat", "beats", 6, timeout_s=30)
            counts = [runtime.committed_view(t, "$$beats").get(t, 0) for t in range(runtime.tasks)]
            assert min(counts) >= 1 and sum(counts) >= 6  # every partition ticks

    asyncio.run(scenario())


class Routes(Module):
    """Queries routed to an explicit task, with keyword arguments and the clock."""

    name = "routes"

    def define(self, m: ModuleBuilder) -> None:
        m.depot("*in", hash_by(lambda r: r))
        s = m.stream("s")
        s.pstate("$$seen", Map(int, int))
        s.source("*in", self.on_record)
        m.query("which_task", lambda ctx, task, *, label="task": f"{label} {ctx.task}", route=on_task(0))
        m.query("now", lambda ctx, key: ctx.now_ms(), route=by_key())

    def on_record(self, ctx: StreamContext, record: int) -> None:
        ctx.now_ms()  # type: ignore[attr-defined]  # deliberately: topologies have no clock


def test_on_task_routes_keyword_arguments_and_the_query_clock(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        clock = FakeClock(start_ms=5_000)
        async with new_cluster(tmp_path, clock=clock) as cluster:
            await cluster.launch(Routes(), tasks=4)
            assert await cluster.query("routes", "which_task", 3) == "task 3"
            assert await cluster.query("routes", "which_task", 2, label="bucket on") == "bucket on 2"
            with pytest.raises(ValueError, match=r"tasks 0\.\.3; got 4"):
                await cluster.query("routes", "which_task", 4)
            clock.advance(250)
            assert await cluster.query("routes", "now", 1) == 5_250
            with pytest.raises(Exception, match=r"read time from ctx\.time_ms"):
                await cluster.append("routes", "*in", 1)

    asyncio.run(scenario())


def test_a_fake_clock_outlives_the_cluster_that_used_it(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with new_cluster(tmp_path, clock=clock) as cluster:
            await cluster.launch(Social(), tasks=2)
            clock.advance(60_000)
            await cluster.controls.wait_idle()
        clock.advance(60_000)  # the closed cluster no longer ticks (its logs are closed)
        async with new_cluster(tmp_path, clock=clock) as cluster:
            runtime = await cluster.launch(Social(), tasks=2)
            clock.advance(60_000)
            await cluster.controls.wait_idle()
            assert [runtime.committed_view(t, "$$ticks").get(t) for t in range(2)] == [2, 2]

    asyncio.run(scenario())


def test_naming_the_own_module_routes_reads_to_the_owning_task(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            runtime = await cluster.launch(Social(), tasks=4)
            for follower in ("ann", "bob", "cat"):
                await cluster.append("social", "*follows", {"follower": follower, "followee": "zoe"})
            here = next(t for t in range(4) if t != runtime.task_of("zoe"))
            local = EmbeddedReadContext(cluster, runtime, here)
            assert local.pstate("$$followers").size("zoe") == 0  # not this task's key
            assert local.pstate("$$followers", module="social").size("zoe") == 3

    asyncio.run(scenario())
