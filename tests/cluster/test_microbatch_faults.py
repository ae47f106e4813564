"""A microbatch that fails half-way leaves no partial effect, and its retry applies it exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cluster.client import Ack
from cluster.crashtest import CrashReport, verify
from cluster.inprocess import InProcessCluster
from modules.examples.ledger import Ledger
from tests.runtimes import Runtime, new_cluster


def transfer(i: int) -> dict[str, object]:
    return {"id": i, "account": f"acct{i % 5}", "amount": i}


async def _append_paused(cluster: InProcessCluster, count: int) -> None:
    cluster.controls.pause("ledger", "totals")
    for i in range(1, count + 1):
        await cluster.append("ledger", "*transfers", transfer(i), ack=Ack.APPENDED)


async def _expect_exact(cluster: InProcessCluster, count: int) -> None:
    assert await cluster.query("ledger", "total_count") == count
    totals = cluster.pstate("ledger", "$$totals")
    for account in range(5):
        assert await totals.get(f"acct{account}") == sum(i for i in range(1, count + 1) if i % 5 == account)


def test_exception_in_a_hop_aborts_the_whole_batch_and_the_retry_counts_once(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        ledger = Ledger()
        failures = {"left": 1}
        original = ledger.count_in_bucket

        def flaky(ctx: object, payload: list[int]) -> None:
            original(ctx, payload)  # type: ignore[arg-type]
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("injected: disk on fire half-way through the batch")

        ledger.count_in_bucket = flaky  # type: ignore[method-assign]
        async with new_cluster(tmp_path) as cluster:
            await cluster.launch(ledger, tasks=4)
            await _append_paused(cluster, 100)
            cluster.controls.resume("ledger", "totals")
            await cluster.controls.wait_processed("ledger", "totals", 100)
            assert failures["left"] == 0
            await _expect_exact(cluster, 100)

    asyncio.run(scenario())


def test_failure_between_task_commits_is_finished_exactly_once(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            await _append_paused(cluster, 100)
            fired = []

            def fail_after_first_commit(module: str, topology: str, task: int, ordinal: int) -> None:
                if topology == "totals" and ordinal == 0 and not fired:
                    fired.append(task)
                    raise OSError("injected: the commit of the second task fails")

            cluster.controls.on_task_committed = fail_after_first_commit
            cluster.controls.resume("ledger", "totals")
            await cluster.controls.wait_processed("ledger", "totals", 100)
            assert fired
            await _expect_exact(cluster, 100)
            await cluster.append("ledger", "*transfers", transfer(101))
            await cluster.controls.wait_idle()
            await _expect_exact(cluster, 101)

    asyncio.run(scenario())


CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from cluster.client import Ack
    from cluster.inprocess import InProcessCluster
    from modules.examples.ledger import Ledger

    async def main(data):
        cluster = InProcessCluster(data)
        await cluster.launch(Ledger(), tasks=4)
        cluster.controls.pause("ledger", "totals")
        for i in range(1, 101):
            await cluster.append("ledger", "*transfers", {"id": i, "account": f"acct{i % 5}", "amount": i},
                                 ack=Ack.APPENDED)
        def die(module, topology, task, ordinal):
            if topology == "totals" and ordinal == 1:
                os.kill(os.getpid(), signal.SIGKILL)  # two tasks committed, two not
        cluster.controls.on_task_committed = die
        cluster.controls.resume("ledger", "totals")
        await cluster.controls.wait_idle()

    asyncio.run(main(sys.argv[1]))
    """
)


def test_kill_between_task_commits_recovers_exactly_once(tmp_path: Path, runtime: Runtime) -> None:
    if runtime.bootstrap is not None:
        pytest.skip(
            "embedded only: the child process and crashtest.verify open the data directory with its segment logs; "
            "a SIGKILL'd owner on Kafka depots is for the worker runtime's crash test"
        )
    data = tmp_path / "data"
    child = subprocess.run([sys.executable, "-c", CHILD, str(data)], timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL
    assert (data / "ledger" / "microbatch" / "totals.redo").exists()
    report = CrashReport()
    asyncio.run(verify(data, set(range(1, 101)), report))  # reopened, topologies held still
    assert report.ok, report.problems

    async def finish() -> None:
        async with InProcessCluster(data) as cluster:
            await cluster.launch(Ledger(), tasks=4)
            await cluster.controls.wait_idle()
            await _expect_exact(cluster, 100)

    asyncio.run(finish())
