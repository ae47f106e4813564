"""The redo record is written only when a cross-task hop wrote on its target; without one, commits stay exact."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from cluster.runtime import file_name_for
from depots.declaration import hash_by
from modules.examples.ledger import Ledger
from pstates.schema import Map
from topology.context import Batch, BatchContext
from topology.module import Module, ModuleBuilder, all_tasks

ITEMS = 40


class Gatherer(Module):
    """Counts items on their own task; a hop to another task only gathers them in memory, after commit."""

    name = "gatherer"

    def __init__(self) -> None:
        self.seen: list[int] = []  # item ids, once per committed batch that carried them

    def define(self, m: ModuleBuilder) -> None:
        """Declare the items depot and the microbatch that counts and gathers them."""
        m.depot("*items", hash_by(lambda r: r["id"]))  # type: ignore[index]
        counting = m.microbatch("counting")
        counting.pstate("$$counts", Map(str, int))
        counting.source("*items", self.count)
        counting.step(self.gather)
        m.query("count", self.total, route=all_tasks(sum))

    def count(self, ctx: BatchContext, batch: Batch) -> None:
        """Count the batch's items here, and hop their ids to the next task to be gathered."""
        counts = ctx.pstate("$$counts")
        counts.put("items", counts.get("items", 0) + len(batch.values))
        ids = [item["id"] for item in batch.values]
        ctx.hop_to_task((ctx.task + 1) % ctx.tasks, self.gather, ids)

    def gather(self, ctx: BatchContext, ids: list[int]) -> None:
        """Keep `ids` in memory once the batch commits (writes nothing on this task)."""
        ctx.after_commit(lambda: self.seen.extend(ids))

    def total(self, ctx: Any) -> int:
        """Items counted on this task."""
        return int(ctx.pstate("$$counts").get("items", 0))


def _redo(cluster: InProcessCluster, module: str, topology: str) -> Path:
    return cluster.runtime(module).directory / "microbatch" / f"{file_name_for(topology)}.redo"


def test_hops_that_write_nothing_need_no_redo_and_a_failed_commit_is_still_exact(tmp_path: Path) -> None:
    async def scenario() -> None:
        gatherer = Gatherer()
        async with InProcessCluster(tmp_path / "data") as cluster:
            await cluster.launch(gatherer, tasks=4)
            cluster.controls.pause("gatherer", "counting")
            for i in range(ITEMS):
                await cluster.append("gatherer", "*items", {"id": i}, ack=Ack.APPENDED)
            fired: list[int] = []

            def fail_after_first_commit(module: str, topology: str, task: int, ordinal: int) -> None:
                if topology == "counting" and ordinal == 0 and not fired:
                    fired.append(task)
                    raise OSError("injected: the commit of the second task fails")

            cluster.controls.on_task_committed = fail_after_first_commit
            cluster.controls.resume("gatherer", "counting")
            await cluster.controls.wait_processed("gatherer", "counting", ITEMS)
            assert fired
            assert await cluster.query("gatherer", "count") == ITEMS  # each item counted once
            assert sorted(set(gatherer.seen)) == list(range(ITEMS))  # every item gathered (at least once)
            assert not _redo(cluster, "gatherer", "counting").exists()

    asyncio.run(scenario())


def test_hops_that_write_on_their_target_still_write_a_redo_record(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with InProcessCluster(tmp_path / "data") as cluster:
            await cluster.launch(Ledger(), tasks=4)
            for i in range(1, 21):
                await cluster.append("ledger", "*transfers", {"id": i, "account": f"a{i % 5}", "amount": i})
            await cluster.controls.wait_idle()
            assert await cluster.query("ledger", "total_count") == 20
            assert _redo(cluster, "ledger", "totals").exists()

    asyncio.run(scenario())
