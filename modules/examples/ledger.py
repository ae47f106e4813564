"""A ledger: transfers into accounts, folded by a stream and a microbatch topology.

The crash test and the replay test use it because its PStates are easy to recompute from the depot: the
stream topology keeps balances on the account's task (writes and offset in one commit), the microbatch
topology keeps per-account totals and, through a cross-task hop, per-bucket counts (non-idempotent
increments, so a batch applied twice would show).
"""

from __future__ import annotations

from typing import Any

from depots.declaration import hash_by
from pstates.schema import Map, SortedMap
from topology.context import Batch, BatchContext, RecordRejected, StreamContext, TopologyContext
from topology.module import Module, ModuleBuilder, all_tasks, by_key

BUCKETS = 16


def bucket_of(transfer_id: int) -> int:
    """The bucket a transfer is counted in."""
    return transfer_id % BUCKETS


class Ledger(Module):
    """Transfers (`{"id", "account", "amount"}`) folded into balances, totals and bucket counts."""

    name = "ledger"

    def define(self, m: ModuleBuilder) -> None:
        """Declare the transfers depot, the balances stream and the totals microbatch."""
        m.depot("*transfers", hash_by(lambda r: r["account"]))  # type: ignore[index]

        balances = m.stream("balances")
        balances.pstate("$$balances", Map(str, int))
        balances.pstate("$$history", Map(str, SortedMap(int, int)))
        balances.source("*transfers", self.apply_transfer)

        totals = m.microbatch("totals")
        totals.pstate("$$totals", Map(str, int))
        totals.pstate("$$bucket_counts", Map(int, int))
        totals.source("*transfers", self.add_batch)
        totals.step(self.count_in_bucket)

        m.query("balance", self.balance, route=by_key())
        m.query("total_count", self.total_count, route=all_tasks(sum))

    # -- stream --------------------------------------------------------------------------------------------

    def apply_transfer(self, ctx: StreamContext, transfer: dict[str, Any]) -> int:
        """Add the amount to the account's balance and history; return the new balance."""
        if transfer["amount"] == 0:
            raise RecordRejected("a transfer of 0 is not a transfer")
        balances = ctx.pstate("$$balances")
        balance = balances.get(transfer["account"], 0) + transfer["amount"]
        balances.put(transfer["account"], balance)
        ctx.pstate("$$history").put(transfer["account"], transfer["id"], transfer["amount"])
        return int(balance)

    # -- microbatch ----------------------------------------------------------------------------------------

    def add_batch(self, ctx: BatchContext, batch: Batch) -> None:
        """Sum the batch per account, then count every transfer in its bucket's task."""
        sums: dict[str, int] = {}
        per_bucket: dict[int, int] = {}
        for transfer in batch.values:
            if transfer["amount"] == 0:
                continue
            sums[transfer["account"]] = sums.get(transfer["account"], 0) + transfer["amount"]
            bucket = bucket_of(transfer["id"])
            per_bucket[bucket] = per_bucket.get(bucket, 0) + 1
        totals = ctx.pstate("$$totals")
        for account, amount in sums.items():
            totals.put(account, totals.get(account, 0) + amount)
        for bucket, count in sorted(per_bucket.items()):
            ctx.hop(bucket, self.count_in_bucket, [bucket, count])

    def count_in_bucket(self, ctx: TopologyContext, payload: list[int]) -> None:
        """Add `count` transfers to `bucket` (runs on the bucket's task)."""
        bucket, count = payload
        counts = ctx.pstate("$$bucket_counts")
        counts.put(bucket, counts.get(bucket, 0) + count)

    # -- queries -------------------------------------------------------------------------------------------

    def balance(self, ctx: Any, account: str) -> int:
        """The committed balance of `account`."""
        return int(ctx.pstate("$$balances").get(account, 0))

    def total_count(self, ctx: Any) -> int:
        """Transfers counted in this task's buckets."""
        return sum(v for _, v in ctx.pstate("$$bucket_counts").range())
