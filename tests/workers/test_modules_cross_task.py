"""Cross-task reads between two workers in one process: each a `FrontServer` (its RPC on a thread of its own)
over two task hosts, with a static routing table. Both share this test's one event loop, so while topology
code on one "worker" waits for a read of the other, *both* main loops are blocked: the read can only be
answered by the other's RPC thread and read pool, which is what keeps real workers free of the distributed
deadlock (A waits for B while B waits for A). Also: tuple keys and sets survive the RPC, fan-out queries
combine remote tasks, a closing host refuses reads so they go to the next owner, and a task that did not
answer is held off (its reads fail at once) until the routing table changes or a probe finds it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.workers.assignor import RoutingTable
from cluster.workers.front import FrontServer
from cluster.workers.reads import CrossTaskReads
from cluster.workers.rpc import pack, unpack, worker_app
from cluster.workers.task_host import NotOwnedError, TaskHost, TaskUnavailableError
from depots.declaration import hash_by
from pstates.keycodec import partition_of
from pstates.schema import Map
from tests.workers.support import namespace_for
from topology.context import ReadContext, StreamContext
from topology.module import Module, ModuleBuilder, all_tasks, by_key

TASKS = 4
READ_BOUND_S = 1.0  # the hold-off tests' read timeout: a read that is not held off takes at least this
KEYS = {partition_of(("k", i), TASKS): ("k", i) for i in range(64)}  # one (str, int) key per task


def key_of(record: Any) -> tuple[str, int]:
    """The record's key as the tuple it is (records come back from msgpack as lists)."""
    return (str(record["key"][0]), int(record["key"][1]))


def store_value(ctx: StreamContext, record: dict[str, Any]) -> None:
    ctx.pstate("$$values").put(key_of(record), int(record["value"]))


def ask(ctx: StreamContext, record: dict[str, Any]) -> int:
    """Read another task's value synchronously (routed by its tuple key) and remember it."""
    other = (str(record["other"][0]), int(record["other"][1]))
    found = ctx.pstate("$$values", module="reader").get(other)
    seen = -1 if found is None else int(found)
    ctx.pstate("$$seen").put(key_of(record), seen)
    return seen


def seen(ctx: ReadContext, key: tuple[str, int]) -> int | None:
    found = ctx.pstate("$$seen").get(key)
    return None if found is None else int(found)


def value_sum(ctx: ReadContext) -> int:
    return sum(int(v) for _, v in ctx.pstate("$$values").range(None))


class Reader(Module):
    """Values per tuple key, and asks that read another key's value from their topology."""

    name = "reader"

    def define(self, m: ModuleBuilder) -> None:
        m.depot("*values", hash_by(key_of))
        m.depot("*asks", hash_by(key_of))
        values = m.stream("values")
        values.pstate("$$values", Map((str, int), int))
        values.source("*values", store_value)
        asks = m.stream("asks")
        asks.pstate("$$seen", Map((str, int), int))
        asks.source("*asks", ask)
        m.query("seen", seen, route=by_key())
        m.query("value_sum", value_sum, route=all_tasks(sum))


@dataclass
class Rig:
    """Four task hosts split over two in-process workers, each with its own RPC thread."""

    hosts: list[TaskHost]
    reads: list[CrossTaskReads]
    shares: list[dict[int, TaskHost]]  # what each worker's RPC serves
    table: list[RoutingTable]  # [the routing table every reader sees]
    storage: KafkaStorage
    data_dir: Path

    async def append(self, depot: str, record: dict[str, Any]) -> Any:
        task = partition_of(key_of(record), TASKS)
        return (await self.hosts[task].append_to("reader", depot, task, record, Ack.PROCESSED)).value

    async def reopen(self, task: int) -> None:
        """Open a closed task's host again on the same worker (its RPC serves the new one)."""
        host = TaskHost(self.data_dir, task, self.storage)
        host.reads = self.reads[task // 2]
        await host.launch(Reader(), TASKS)
        self.hosts[task] = self.shares[task // 2][task] = host


@asynccontextmanager
async def two_workers(tmp_path: Path, bootstrap: str) -> AsyncIterator[Rig]:
    storage = KafkaStorage(bootstrap, namespace_for(tmp_path))
    hosts = [TaskHost(tmp_path / "data", task, storage) for task in range(TASKS)]
    shares: list[dict[int, TaskHost]] = [{0: hosts[0], 1: hosts[1]}, {2: hosts[2], 3: hosts[3]}]
    table = [RoutingTable(0, {})]
    loop = asyncio.get_running_loop()
    fronts = [FrontServer(_app_over(share, table, loop)) for share in shares]
    addresses = [await front.start() for front in fronts]
    table[0] = RoutingTable(1, {task: addresses[task // 2] for task in range(TASKS)})
    reads = [CrossTaskReads(share, lambda: table[0]) for share in shares]
    for host in hosts:
        host.reads = reads[host.task // 2]
        await host.launch(Reader(), TASKS)
    try:
        yield Rig(hosts, reads, shares, table, storage, tmp_path / "data")
    finally:
        for host in hosts:
            await host.close()
        for front in fronts:
            await front.stop()
        for reader in reads:
            reader.close()
        await storage.close()


def _app_over(share: dict[int, TaskHost], table: list[RoutingTable], loop: asyncio.AbstractEventLoop) -> Any:
    return lambda pool: worker_app(share.get, lambda: table[0].encode(), loop, pool)


def test_topologies_read_each_other_s_workers_while_both_main_loops_are_blocked(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with two_workers(tmp_path, kafka_bootstrap) as rig:
            for task, key in KEYS.items():
                await rig.append("*values", {"key": key, "value": 10 + task})
            # Task 0 (worker A) reads task 2 (worker B) and the other way round, at the same time.
            asked = await asyncio.wait_for(
                asyncio.gather(
                    rig.append("*asks", {"key": KEYS[0], "other": KEYS[2]}),
                    rig.append("*asks", {"key": KEYS[2], "other": KEYS[0]}),
                    rig.append("*asks", {"key": KEYS[1], "other": KEYS[3]}),
                ),
                60,
            )
            assert asked == [12, 10, 13]
            host = rig.hosts[0]
            assert host.run_query("reader", "seen", (KEYS[2],)) == 10  # routed to worker B
            assert host.run_query("reader", "value_sum", ()) == sum(10 + t for t in range(TASKS))

            samples = []
            for _ in range(200):
                started = time.perf_counter()
                assert rig.reads[0].pstate(2, "reader", "$$values", "get", (KEYS[2],), {}) == 12
                samples.append(time.perf_counter() - started)
            samples.sort()
            print(f"\ncross-worker PState read (blocking, loopback): p50 {samples[100] * 1e3:.2f} ms")

            await rig.hosts[3].close()  # a closed host refuses reads (409 over RPC: the reader asks elsewhere)
            with pytest.raises(NotOwnedError):
                rig.hosts[3].read_pstate("reader", "$$values", "get", (KEYS[3],), {})

    asyncio.run(scenario())


def held_off_reads(rig: Rig, probe_every_s: float) -> CrossTaskReads:
    """Reads with no task host of their own, whose bound is `READ_BOUND_S` on the test's loop too."""
    return CrossTaskReads({}, lambda: rig.table[0], READ_BOUND_S, probe_every_s, loop_timeout_s=READ_BOUND_S)


def seconds_to_fail(reads: CrossTaskReads, task: int) -> float:
    """How long a read of `task` took to raise `TaskUnavailableError`."""
    started = time.monotonic()
    with pytest.raises(TaskUnavailableError):
        reads.pstate(task, "reader", "$$values", "get", (KEYS[task],), {})
    return time.monotonic() - started


def test_a_task_that_did_not_answer_fails_reads_at_once_until_the_routing_table_changes(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with two_workers(tmp_path, kafka_bootstrap) as rig:
            for task in (2, 3):
                await rig.append("*values", {"key": KEYS[task], "value": 10 + task})
            await rig.hosts[3].close()  # worker B answers "not the owner" for task 3 from now on
            reads = held_off_reads(rig, probe_every_s=3600)  # no probe due
            try:
                assert seconds_to_fail(reads, 3) >= READ_BOUND_S  # retried for the whole bound
                assert seconds_to_fail(reads, 3) < READ_BOUND_S / 2  # held off: at once
                assert reads.pstate(2, "reader", "$$values", "get", (KEYS[2],), {}) == 12  # per task: 2 is read
                await rig.reopen(3)
                assert seconds_to_fail(reads, 3) < READ_BOUND_S / 2  # answering again, but the table did not change
                rig.table[0] = RoutingTable(rig.table[0].version + 1, rig.table[0].owners)
                assert reads.pstate(3, "reader", "$$values", "get", (KEYS[3],), {}) == 13
            finally:
                reads.close()

    asyncio.run(scenario())


def test_a_held_off_task_is_read_again_once_a_probe_finds_it_answering(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with two_workers(tmp_path, kafka_bootstrap) as rig:
            await rig.append("*values", {"key": KEYS[3], "value": 13})
            await rig.hosts[3].close()
            reads = held_off_reads(rig, probe_every_s=0)  # a probe every read
            try:
                assert seconds_to_fail(reads, 3) >= READ_BOUND_S
                assert seconds_to_fail(reads, 3) < READ_BOUND_S / 2  # the probe: one request, refused
                await rig.reopen(3)  # the same routing table: only a probe can find it
                assert reads.pstate(3, "reader", "$$values", "get", (KEYS[3],), {}) == 13
            finally:
                reads.close()

    asyncio.run(scenario())


def test_a_read_on_an_event_loop_gives_up_on_a_refusing_task_sooner_than_one_on_a_thread(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with two_workers(tmp_path, kafka_bootstrap) as rig:
            await rig.hosts[3].close()
            on_loop = CrossTaskReads({}, lambda: rig.table[0], READ_BOUND_S, loop_timeout_s=0.1)
            on_thread = CrossTaskReads({}, lambda: rig.table[0], READ_BOUND_S, loop_timeout_s=0.1)
            try:
                assert seconds_to_fail(on_loop, 3) < READ_BOUND_S / 2  # it would hold up this loop
                assert await asyncio.to_thread(seconds_to_fail, on_thread, 3) >= READ_BOUND_S  # a read thread waits
            finally:
                on_loop.close()
                on_thread.close()

    asyncio.run(scenario())


def test_rpc_bodies_keep_tuples_and_sets() -> None:
    body = {"args": [("tag", "python"), {1, 2}, [1, (2, 3)]], "kwargs": {(1, "a"): frozenset({"x"})}}
    assert unpack(pack(body)) == {"args": [("tag", "python"), {1, 2}, [1, (2, 3)]], "kwargs": {(1, "a"): {"x"}}}
