"""`ctx.deferred`: a stream group's records aggregate into one write per task, flushed before the commit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.client import Ack
from depots.declaration import hash_by
from pstates.schema import Map
from tests.runtimes import new_cluster
from topology.context import StreamContext, TopologyContext
from topology.module import Module, ModuleBuilder

GROUP = 50


class Totals(Module):
    """Deposits summed per account in a deferred accumulator; a `read` record flushes and reports."""

    name = "totals"

    def define(self, m: ModuleBuilder) -> None:
        """Declare `*deposits`, the `totals` stream topology and its two PStates."""
        m.depot("*deposits", hash_by(lambda r: r["account"]))  # type: ignore[index]
        topology = m.stream("totals")
        topology.pstate("$$totals", Map(str, int))
        topology.pstate("$$flushes", Map(int, int))
        topology.source("*deposits", self.on_deposit)

    def on_deposit(self, ctx: StreamContext, record: dict[str, Any]) -> int | None:
        """Add a deposit to this group's sums, or flush them and return the account's total."""
        if record.get("op") == "read":
            ctx.flush_deferred()
            return int(ctx.pstate("$$totals").get(record["account"], 0))
        sums: dict[str, int] = ctx.deferred("sums", dict, self.write_sums)
        sums[record["account"]] = sums.get(record["account"], 0) + record["amount"]
        return None

    def write_sums(self, ctx: TopologyContext, sums: dict[str, int]) -> None:
        """Write the group's sums, counting this flush."""
        totals = ctx.pstate("$$totals")
        totals.put_many([(account, totals.get(account, 0) + amount) for account, amount in sums.items()])
        flushes = ctx.pstate("$$flushes")
        flushes.put(ctx.task, flushes.get(ctx.task, 0) + 1)


def test_a_group_flushes_once_and_a_read_sees_earlier_records(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            await cluster.launch(Totals(), tasks=1)
            cluster.controls.pause("totals", "totals")
            deposits = [{"account": "a", "amount": n} for n in range(1, GROUP + 1)]
            await cluster.append_many("totals", "*deposits", deposits, ack=Ack.APPENDED)
            cluster.controls.resume("totals", "totals")
            await cluster.controls.wait_processed("totals", "totals", GROUP)
            expected = GROUP * (GROUP + 1) // 2
            assert await cluster.pstate("totals", "$$totals").get("a") == expected
            assert await cluster.pstate("totals", "$$flushes").get(0) == 1  # one write for the whole group
            result = await cluster.append("totals", "*deposits", {"op": "read", "account": "a"})
            assert result.value == expected
            await cluster.append("totals", "*deposits", {"account": "a", "amount": 5})
            assert (await cluster.append("totals", "*deposits", {"op": "read", "account": "a"})).value == expected + 5

    asyncio.run(scenario())
