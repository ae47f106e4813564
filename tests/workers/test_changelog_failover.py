"""Two `tusk worker --changelog` processes on separate data directories ("two machines"); one is SIGKILLed
under load, and the survivor restores the lost tasks from their changelogs with exact PStates.

Prints the failover time (kill -> first acknowledged append on a lost task) and each restore.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from cluster.workers.client import WorkerClient
from modules.examples.ledger import Ledger
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until, replay_ledger
from tests.workers.test_failover import ACCOUNTS, TASKS, Load, _count


async def start_worker(url: str, data: Path) -> WorkerProcess:
    """A worker with its own data directory, logging its stores to the changelog."""
    data.mkdir(parents=True)
    return await launch_worker(url, data, data.name, "--changelog", "--module", "ledger")


def test_the_survivor_on_its_own_data_dir_restores_the_lost_tasks_exactly(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def scenario() -> None:
        workers = [await start_worker(url, tmp_path / name) for name in ("machine-1", "machine-2")]
        try:
            await run(workers)
        except BaseException:
            for worker in workers:
                sys.stderr.write(f"--- {worker.stderr.name}\n{worker.stderr.read_text()[-4000:]}\n")
            raise
        finally:
            for worker in workers:
                await worker.stop()

    async def run(workers: list[WorkerProcess]) -> None:
        async def shares() -> list[set[int]]:
            return [w.serving for w in workers]

        def split(served: list[set[int]]) -> bool:
            return all(served) and not served[0] & served[1] and served[0] | served[1] == set(range(TASKS))

        await poll_until(shares, split, 60, "both workers to serve two tasks each")
        victim, survivor = workers
        async with WorkerClient(url, [Ledger()], TASKS, failover_timeout_s=60) as client:
            load = Load(client)
            for _ in range(120):
                await load.append_one()
            lost = victim.serving
            killed_at = 0.0

            def recovered() -> list[float]:
                return [at - killed_at for at, task, _ in load.acks if killed_at and at > killed_at and task in lost]

            async def appender() -> None:
                while len(recovered()) < 40:
                    await load.append_one()

            appenders = [asyncio.get_running_loop().create_task(appender()) for _ in range(4)]
            await poll_until(_count(load), lambda n: n >= 200, 30, "appends under way before the kill")
            killed_at = time.monotonic()
            os.kill(victim.process.pid, signal.SIGKILL)
            await victim.process.wait()
            await asyncio.wait_for(asyncio.gather(*appenders), 90)
            failover_s = min(recovered())

            async def survivor_tasks() -> set[int]:
                return survivor.serving

            await poll_until(survivor_tasks, lambda s: s == set(range(TASKS)), 30, "the survivor to own every task")
            replayed, count, ids = await replay_ledger(tmp_path / "replay", url, ACCOUNTS)

            async def counted() -> int:
                return int(await client.query("ledger", "total_count"))

            await poll_until(counted, lambda n: n == count, 60, f"the survivor's bucket counts to reach {count}")
            balances = {account: await client.query("ledger", "balance", account) for account in ACCOUNTS}

        restores = [e for e in survivor.events if e["event"] == "restored" and e["task"] in lost]
        assert {e["task"] for e in restores} == lost
        # "local" only if the survivor held the task before the first split settled (then it caught up)
        assert {e["source"] for e in restores} <= {"changelog", "local"}
        assert sum(e["records"] for e in restores) > 0
        assert load.acknowledged <= ids, "an acknowledged transfer is missing from the depot"
        assert count == len(ids), "a transfer was appended twice"
        assert balances == replayed
        print(
            f"\nfailover with separate data dirs (SIGKILL -> first acknowledged append on a lost task): "
            f"{failover_s:.2f} s; restores: "
            + ", ".join(f"task {e['task']} {e['records']} records {e['seconds'] * 1e3:.0f} ms" for e in restores)
        )

    asyncio.run(scenario())
