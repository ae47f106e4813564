"""Two `tusk worker` processes share the ledger's tasks; one is SIGKILLed under load; the other takes over.

Checks: every task is served again, and the survivor's PStates are exactly an embedded replay's of the
same depot (nothing acknowledged lost, nothing applied twice, no duplicate record appended). Prints the
failover time (kill -> first acknowledged append on a task of the killed worker) and append latencies.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.workers.failover_support import kill_under_load, split_evenly, with_workers
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until


async def start_worker(url: str, data: Path, name: str) -> WorkerProcess:
    """A worker hosting the ledger, on the data directory the workers share."""
    return await launch_worker(url, data, name, "--module", "ledger")


def test_a_sigkilled_worker_s_tasks_move_to_the_survivor_with_exact_pstates(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"
    data = tmp_path / "data"

    async def scenario() -> None:
        workers = [await start_worker(url, data, name) for name in ("w1", "w2")]
        await with_workers(workers, lambda: run(workers))

    async def run(workers: list[WorkerProcess]) -> None:
        async def shares() -> list[set[int]]:
            return [w.serving for w in workers]

        await poll_until(shares, split_evenly, 60, "both workers to serve two tasks each")
        failover = await kill_under_load(url, tmp_path / "replay", *workers)
        failover.assert_exact()
        steady, load = failover.steady, failover.load
        print(
            f"\nfailover (SIGKILL -> first acknowledged append on a lost task): {failover.failover_s:.2f} s; "
            f"append PROCESSED via client, steady: p50 {steady[len(steady) // 2] * 1e3:.1f} ms, "
            f"p99 {steady[int(len(steady) * 0.99)] * 1e3:.1f} ms; acknowledged {len(load.acknowledged)}, "
            f"unknown outcome {len(load.unknown)}, in the depot {failover.count}"
        )

    asyncio.run(scenario())
