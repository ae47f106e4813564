"""Hops between task hosts of one worker are handed over in memory once durable (`cluster.workers.local_hops`):
the target learns them with no poll of the broker, and a source that leaves stops handing over."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.workers import task_host
from cluster.workers.local_hops import LocalHops
from cluster.workers.task_host import TaskHost
from depots.kafka_log import KafkaDepotLog
from tests.workers.support import namespace_for
from tests.workers.test_task_host import SOURCE_KEY, TARGET_KEY, Hopper

TASKS = 2
TIMESTAMP_MS = 1_700_000_000_000


def test_durable_hops_reach_a_registered_target_s_log_and_nothing_else(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        logs = [await storage.open_log("m", "~hops.t", TASKS * TASKS) for _ in range(TASKS)]
        source, target = logs
        assert isinstance(source, KafkaDepotLog) and isinstance(target, KafkaDepotLog)
        hops = LocalHops.of(storage)
        assert LocalHops.of(storage) is hops and LocalHops.of(KafkaStorage(kafka_bootstrap)) is not hops
        for task, log in enumerate(logs):
            hops.register("m", "~hops.t", TASKS, task, log)
        to_target = 0 * TASKS + 1
        receipts = [source.append(to_target, f"hop {n}".encode(), TIMESTAMP_MS) for n in range(3)]
        await asyncio.gather(*(r.durable for r in receipts))
        # Handed over on the source's publish: no fetch, the entries are in the target's cache.
        assert target.durable_end(to_target) == 3
        assert target.cached(to_target, 0, 3) == source.cached(to_target, 0, 3)
        hops.unregister("m", "~hops.t", 1, target)
        assert not hops.is_local("m", "~hops.t", 1) and hops.is_local("m", "~hops.t", 0)
        await source.append(to_target, b"after", TIMESTAMP_MS).durable
        assert target.durable_end(to_target) == 3  # gone from the registry: it polls the broker now
        for log in logs:
            await log.close()
        await storage.close()

    asyncio.run(scenario())


def test_a_sibling_target_applies_hops_without_polling_them(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[list[int]] = []
    first_rounds = asyncio.Event()  # both hosts polled once (one hop topic each)
    real_poll = KafkaDepotLog.poll

    async def counted_poll(log: KafkaDepotLog, partitions: list[int], max_bytes: int = 1 << 20) -> None:
        polls.append(partitions)
        await real_poll(log, partitions, max_bytes)
        if len(polls) >= TASKS:
            first_rounds.set()

    # After its first round (everything, once) the target's poller sleeps for the rest of the test.
    monkeypatch.setattr(task_host, "HOP_POLL_S", 3600.0)
    monkeypatch.setattr(KafkaDepotLog, "poll", counted_poll)

    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        target = TaskHost(tmp_path / "workers", 1, storage)
        await target.launch(Hopper(), tasks=TASKS)
        source = TaskHost(tmp_path / "workers", 0, storage)
        await source.launch(Hopper(), tasks=TASKS)
        await asyncio.wait_for(first_rounds.wait(), 30)
        polled = len(polls)
        for index in range(5):
            await source.append_to("hopper", "*events", 0, {"key": SOURCE_KEY, "n": index}, Ack.APPENDED)
        await source.controls.wait_idle()  # its batches committed: their hops were durable, so handed over
        await target.controls.wait_idle()
        received: Any = target.read_pstate("hopper", "$$received", "get", (TARGET_KEY, 0), {})
        assert received == 5
        assert len(polls) == polled  # no poll brought them
        for host in (source, target):
            await host.close()
        await storage.close()

    asyncio.run(scenario())
