"""Two `tusk worker --changelog` processes on separate data directories ("two machines"); one is SIGKILLed
under load, and the survivor restores the lost tasks from their changelogs with exact PStates.

Prints the failover time (kill -> first acknowledged append on a lost task) and each restore.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.workers.failover_support import kill_under_load, split_evenly, with_workers
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until


async def start_worker(url: str, data: Path) -> WorkerProcess:
    """A worker with its own data directory, logging its stores to the changelog."""
    data.mkdir(parents=True)
    return await launch_worker(url, data, data.name, "--changelog", "--module", "ledger")


def test_the_survivor_on_its_own_data_dir_restores_the_lost_tasks_exactly(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def scenario() -> None:
        workers = [await start_worker(url, tmp_path / name) for name in ("machine-1", "machine-2")]
        await with_workers(workers, lambda: run(workers))

    async def run(workers: list[WorkerProcess]) -> None:
        async def shares() -> list[set[int]]:
            return [w.serving for w in workers]

        await poll_until(shares, split_evenly, 60, "both workers to serve two tasks each")
        victim, survivor = workers
        failover = await kill_under_load(url, tmp_path / "replay", victim, survivor)

        restores = [e for e in survivor.events if e["event"] == "restored" and e["task"] in failover.lost]
        assert {e["task"] for e in restores} == failover.lost
        # "local" only if the survivor held the task before the first split settled (then it caught up)
        assert {e["source"] for e in restores} <= {"changelog", "local"}
        assert sum(e["records"] for e in restores) > 0
        failover.assert_exact()
        print(
            f"\nfailover with separate data dirs (SIGKILL -> first acknowledged append on a lost task): "
            f"{failover.failover_s:.2f} s; restores: "
            + ", ".join(f"task {e['task']} {e['records']} records {e['seconds'] * 1e3:.0f} ms" for e in restores)
        )

    asyncio.run(scenario())
