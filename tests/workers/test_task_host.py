"""Task hosts in one process: the ledger split over four of them, hops between tasks over the hop topic,
a microbatch retried after a crash replaying its stored plan, and the store lock fencing a task."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.workers.task_host import NotOwnedError, PlannedMicrobatchRunner, StoreLockedError, TaskHost
from depots.codec import encode_record
from depots.declaration import hash_by
from modules.examples.ledger import Ledger
from pstates.keycodec import partition_of
from pstates.schema import Map
from tests.workers.support import namespace_for, poll_until, replay_ledger
from topology.context import Batch, BatchContext, TopologyContext
from topology.module import Module, ModuleBuilder

ACCOUNTS = [f"a{k}" for k in range(13)]


def test_four_task_hosts_fold_the_ledger_as_one_embedded_cluster(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        hosts = [TaskHost(tmp_path / "workers", task, storage) for task in range(4)]
        for host in hosts:
            await host.launch(Ledger(), tasks=4)
        runtime = hosts[0].runtime("ledger")
        spec = runtime.definition.depots["*transfers"]
        for transfer_id in range(1, 121):
            record = {"id": transfer_id, "account": ACCOUNTS[transfer_id % 13], "amount": transfer_id}
            partition = runtime.partition_for(spec, record, None)
            result = await hosts[partition].append_to("ledger", "*transfers", partition, record, Ack.PROCESSED)
            assert result.value == hosts[partition].query_here("ledger", "balance", (record["account"],), {})
        with pytest.raises(NotOwnedError):
            await hosts[0].append_to("ledger", "*transfers", 1, {"id": 0, "account": "x", "amount": 1}, Ack.NONE)

        async def counted() -> int:
            return sum(host.query_here("ledger", "total_count", (), {}) for host in hosts)

        await poll_until(counted, lambda n: n == 120, 30, "bucket counts (hops between tasks) to reach 120")
        balances = {a: hosts[runtime.task_of(a)].query_here("ledger", "balance", (a,), {}) for a in ACCOUNTS}
        for host in hosts:
            await host.close()
        await storage.close()
        replayed, count, ids = await replay_ledger(
            tmp_path / "replay", storage_url(kafka_bootstrap, tmp_path), ACCOUNTS
        )
        assert (balances, count, ids) == (replayed, 120, set(range(1, 121)))

    asyncio.run(scenario())


def storage_url(bootstrap: str, path: Path) -> str:
    return f"kafka://{bootstrap}/{namespace_for(path)}"


def keys_on_tasks(tasks: int) -> list[str]:
    """One key owned by each task."""
    found: dict[int, str] = {}
    index = 0
    while len(found) < tasks:
        found.setdefault(partition_of(f"k{index}", tasks), f"k{index}")
        index += 1
    return [found[task] for task in range(tasks)]


SOURCE_KEY, TARGET_KEY = keys_on_tasks(2)


class Hopper(Module):
    """Each microbatch of task 0 tells task 1 how many events it took; can fail after hopping."""

    name = "hopper"

    def __init__(self, fail_after_hop: bool = False) -> None:
        self.fail_after_hop = fail_after_hop

    def define(self, m: ModuleBuilder) -> None:
        m.depot("*events", hash_by(lambda r: r["key"]))  # type: ignore[index]
        count = m.microbatch("count")
        count.pstate("$$received", Map(str, int))
        count.source("*events", self.send_count)
        count.step(self.receive)

    def send_count(self, ctx: BatchContext, batch: Batch) -> None:
        ctx.hop(TARGET_KEY, self.receive, len(batch))
        if self.fail_after_hop:
            raise RuntimeError("injected: the batch fails after its hop was sent")

    def receive(self, ctx: TopologyContext, count: int) -> None:
        received = ctx.pstate("$$received")
        received.put(TARGET_KEY, received.get(TARGET_KEY, 0) + count)


def test_a_microbatch_retried_after_a_crash_resends_the_same_hops_and_they_apply_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        data = tmp_path / "workers"
        target = TaskHost(data, 1, storage)
        await target.launch(Hopper(), tasks=2)
        source = TaskHost(data, 0, storage)
        await source.launch(Hopper(fail_after_hop=True), tasks=2)
        source.controls.pause("hopper", "count")  # so that batch 1 takes all five events
        for index in range(5):
            await source.append_to("hopper", "*events", 0, {"key": SOURCE_KEY, "n": index}, Ack.APPENDED)
        source.controls.resume("hopper", "count")

        hop_reader = next(a for a in target.runner("hopper", "count").assignments if a.depot.startswith("~hops"))

        async def progress() -> tuple[int, int, int]:
            failing = source.runner("hopper", "count")
            attempts = failing.failing[0] if isinstance(failing, PlannedMicrobatchRunner) and failing.failing else 0
            received = target.read_pstate("hopper", "$$received", "get", (TARGET_KEY, 0), {})
            return attempts, hop_reader.next_offset, received

        # The failing batch sent its hop on every attempt; the target consumed them all and counted one.
        await poll_until(progress, lambda p: p[0] >= 2 and p[1] >= 2, 30, "two attempts and their hops consumed")
        assert (await progress())[2] == 5
        await source.close()  # the "crash": batch 1 never committed on task 0

        # Three more events arrive while task 0 has no owner (written as its owner would).
        events = await storage.open_log("hopper", "*events", 2)
        for index in range(5, 8):
            events.append(0, encode_record({"key": SOURCE_KEY, "n": index}), 0)
        await events.close()

        # The next owner replays batch 1's stored plan (5 events, the same hop), then takes the 3 as batch 2.
        source = TaskHost(data, 0, storage)
        await source.launch(Hopper(), tasks=2)

        async def received() -> Any:
            return target.read_pstate("hopper", "$$received", "get", (TARGET_KEY, 0), {})

        await poll_until(received, lambda n: n == 8, 30, "the target to count all 8 events")
        await source.controls.wait_idle()
        await target.controls.wait_idle()
        assert await received() == 8
        for host in (source, target):
            await host.close()
        await storage.close()

    asyncio.run(scenario())


def test_a_task_store_is_opened_by_one_host_at_a_time(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        owner = TaskHost(tmp_path / "workers", 0, storage)
        await owner.launch(Ledger(), tasks=4)
        rival = TaskHost(tmp_path / "workers", 0, storage, lock_wait_s=0.2)
        with pytest.raises(StoreLockedError, match="still locked"):
            await rival.launch(Ledger(), tasks=4)
        await rival.close()
        await owner.close()
        successor = TaskHost(tmp_path / "workers", 0, storage, lock_wait_s=5)
        await successor.launch(Ledger(), tasks=4)  # the lock is free once the owner closed
        await successor.close()
        await storage.close()

    asyncio.run(scenario())
