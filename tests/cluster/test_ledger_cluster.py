"""The cluster end to end on the ledger example, on both runtimes: acks, return values, errors, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.client import Ack
from cluster.inprocess import UnknownModuleError, UnknownQueryError
from cluster.testing import FakeClock
from depots.errors import RecordTooLargeError, UnknownDepotError, UnserializableRecordError
from modules.examples.ledger import Ledger
from pstates.errors import PStateWriteError, UnknownPStateError
from tests.runtimes import Runtime, new_cluster
from topology.context import RecordRejected


def transfer(i: int, account: str = "a", amount: int = 10) -> dict[str, object]:
    return {"id": i, "account": account, "amount": amount}


def test_processed_append_returns_the_stream_topologys_value(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind, clock=FakeClock()) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            first = await cluster.append("ledger", "*transfers", transfer(1, amount=10))
            second = await cluster.append("ledger", "*transfers", transfer(2, amount=-3))
            assert first.value == 10
            assert second.value == 7
            assert second.offset == first.offset + 1  # same account, same partition, next offset
            assert await cluster.query("ledger", "balance", "a") == 7
            assert await cluster.pstate("ledger", "$$balances").get("a") == 7
            assert await cluster.pstate("ledger", "$$history").range("a") == [(1, 10), (2, -3)]
            assert await cluster.pstate("ledger", "$$history").size("a") == 2

    asyncio.run(scenario())


def test_rejected_record_leaves_no_write_and_reaches_the_appender(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            await cluster.launch(Ledger(), tasks=2)
            with pytest.raises(RecordRejected, match="transfer of 0"):
                await cluster.append("ledger", "*transfers", transfer(1, amount=0))
            result = await cluster.append("ledger", "*transfers", transfer(2, amount=5))
            assert result.value == 5  # the rejected record moved the offset on, and changed nothing
            assert await cluster.pstate("ledger", "$$history").range("a") == [(2, 5)]

    asyncio.run(scenario())


def test_bad_input_gets_specific_errors_and_writes_nothing(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            runtime = await cluster.launch(Ledger(), tasks=2)
            _, log = runtime.depot("*transfers")
            ends = [log.durable_end(p) for p in range(log.partitions)]
            with pytest.raises(UnknownDepotError, match=r"no depot '\*nope'.*\*transfers"):
                await cluster.append("ledger", "*nope", transfer(1))
            with pytest.raises(UnknownModuleError, match="no module 'nope'"):
                await cluster.append("nope", "*transfers", transfer(1))
            with pytest.raises(UnserializableRecordError, match="set"):
                await cluster.append("ledger", "*transfers", {"id": 1, "account": "a", "amount": {1, 2}})
            with pytest.raises(RecordTooLargeError):
                await cluster.append("ledger", "*transfers", {"id": 1, "account": "a", "blob": b"x" * (2 << 20)})
            with pytest.raises(UnknownPStateError, match="no PState '\\$\\$nope'"):
                cluster.pstate("ledger", "$$nope")
            with pytest.raises(UnknownQueryError, match="no query 'nope'"):
                await cluster.query("ledger", "nope")
            with pytest.raises(PStateWriteError):
                await cluster.pstate("ledger", "$$balances").call("put", "a", 1)
            await cluster.flush_logs()
            assert [log.durable_end(p) for p in range(log.partitions)] == ends
            assert await cluster.pstate("ledger", "$$balances").get("missing") is None

    asyncio.run(scenario())


def test_microbatch_folds_everything_exactly_once(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            cluster.controls.pause("ledger", "totals")
            for i in range(1, 201):
                await cluster.append("ledger", "*transfers", transfer(i, f"acct{i % 7}", i), ack=Ack.APPENDED)
            totals = cluster.pstate("ledger", "$$totals")
            assert await totals.get("acct1") is None  # paused: nothing folded yet
            cluster.controls.resume("ledger", "totals")
            await cluster.controls.wait_processed("ledger", "totals", 200)
            assert await totals.get("acct1") == sum(i for i in range(1, 201) if i % 7 == 1)
            assert await cluster.query("ledger", "total_count") == 200

    asyncio.run(scenario())


def test_reopen_resumes_from_committed_offsets(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            for i in range(1, 51):
                await cluster.append("ledger", "*transfers", transfer(i, f"acct{i % 3}"))
            await cluster.controls.wait_idle()
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            result = await cluster.append("ledger", "*transfers", transfer(51, "acct0"))
            assert result.value == 10 * (len([i for i in range(1, 52) if i % 3 == 0]))
            await cluster.controls.wait_idle()
            assert await cluster.query("ledger", "total_count") == 51  # nothing folded twice

    asyncio.run(scenario())


def test_relaunch_with_another_task_count_is_refused(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            await cluster.launch(Ledger(), tasks=4)
        async with new_cluster(tmp_path) as cluster:
            with pytest.raises(ValueError, match="launched with 4 tasks"):
                await cluster.launch(Ledger(), tasks=8)

    asyncio.run(scenario())


def test_append_many_keeps_order_and_returns_every_value(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            results = await cluster.append_many("ledger", "*transfers", [transfer(i, amount=i) for i in range(1, 6)])
            assert [r.value for r in results] == [1, 3, 6, 10, 15]  # one account: one partition, in order
            assert [r.offset for r in results] == list(range(5))
            appended = await cluster.append_many(
                "ledger", "*transfers", [transfer(i, f"acct{i}") for i in range(10)], ack=Ack.APPENDED
            )
            assert len({r.partition for r in appended}) > 1
            await cluster.controls.wait_idle()
            assert await cluster.query("ledger", "total_count") == 15

    asyncio.run(scenario())


def test_append_many_refuses_every_record_when_one_is_bad(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            runtime = await cluster.launch(Ledger(), tasks=2)
            _, log = runtime.depot("*transfers")
            with pytest.raises(UnserializableRecordError):
                await cluster.append_many("ledger", "*transfers", [transfer(1), {"id": 2, "bad": {3}}])
            await cluster.flush_logs()
            assert [log.durable_end(p) for p in range(log.partitions)] == [0, 0]
            with pytest.raises(RecordRejected):
                await cluster.append_many("ledger", "*transfers", [transfer(3), transfer(4, amount=0), transfer(5)])
            assert await cluster.query("ledger", "balance", "a") == 20  # the good ones were processed

    asyncio.run(scenario())
