"""A task host's stream runner: one round (one durable wait, one store write) per pass over every backlogged
partition, later groups seeing earlier ones' writes, and a failing group retried on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.workers.task_host import TaskHost
from depots.declaration import hash_by
from pstates.schema import Map
from pstates.store import KVStore, WriteBatch
from tests.workers.support import namespace_for
from topology.context import RecordRejected, TopologyContext
from topology.module import Module, ModuleBuilder


class Tally(Module):
    """Counts records of two depots in one PState and echoes each to a third depot (an append per record)."""

    name = "tally"

    def define(self, m: ModuleBuilder) -> None:
        for depot in ("*left", "*right", "*echo"):
            m.depot(depot, hash_by(lambda r: r["key"]))  # type: ignore[index]
        tally = m.stream("tally")
        tally.pstate("$$count", Map(str, int))
        tally.source("*left", self.count)
        tally.source("*right", self.count)

    @staticmethod
    def count(ctx: TopologyContext, record: dict[str, Any]) -> int:
        if record.get("reject"):
            raise RecordRejected("rejected on purpose")
        counts = ctx.pstate("$$count")
        seen = counts.get("n", 0) + 1
        counts.put("n", seen)
        ctx.append("*echo", {"key": record["key"], "seen": seen})
        return int(seen)


async def _host_with_backlog(path: Path, storage: KafkaStorage, right: list[dict[str, Any]]) -> TaskHost:
    """A one-task host whose `tally` topology is paused with 3 records on *left and `right` on *right."""
    host = TaskHost(path / "workers", 0, storage)
    await host.launch(Tally(), tasks=1)
    host.controls.pause("tally", "tally")
    for index in range(3):
        await host.append_to("tally", "*left", 0, {"key": "k", "n": index}, Ack.APPENDED)
    for record in right:
        await host.append_to("tally", "*right", 0, record, Ack.APPENDED)
    return host


def _count_writes(store: KVStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count `store.write` calls (the real write still happens)."""
    writes = [0]
    real = store.write

    def counting(batch: WriteBatch, *, sync: bool = False) -> None:
        writes[0] += 1
        real(batch, sync=sync)

    monkeypatch.setattr(store, "write", counting)
    return writes


def test_one_pass_commits_every_backlogged_partition_in_one_write(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        right = [{"key": "k", "n": index} for index in range(2)]
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        host = await _host_with_backlog(tmp_path, storage, right)
        runner = host.runner("tally", "tally")
        writes = _count_writes(host.runtime("tally").stores[0], monkeypatch)
        assert await runner.run_pass()
        assert writes[0] == 1  # one round: one WriteBatch for both partitions' state and offsets
        assert {a.depot: a.next_offset for a in runner.assignments} == {"*left": 3, "*right": 2}
        assert host.read_pstate("tally", "$$count", "get", ("n",), {}) == 5  # the right group saw the left's
        echo = await host.runtime("tally").logs["*echo"].read(0, 0, 10)
        assert len(echo) == 5  # every append was durable before the commit
        await host.close()
        await storage.close()

    asyncio.run(scenario())


def test_a_failing_group_is_retried_alone_and_the_others_commit(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        right = [{"key": "k", "n": 0}, {"key": "k", "reject": True}]
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        host = await _host_with_backlog(tmp_path, storage, right)
        runner = host.runner("tally", "tally")
        assert await runner.run_pass()
        assert {a.depot: a.next_offset for a in runner.assignments} == {"*left": 3, "*right": 2}
        assert host.read_pstate("tally", "$$count", "get", ("n",), {}) == 4  # the rejected record wrote nothing
        await host.close()
        await storage.close()

    asyncio.run(scenario())
