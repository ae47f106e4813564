"""Two `tusk worker --standbys 1` processes on separate data directories, each keeping the other's tasks warm;
one is SIGKILLed under load, and the survivor promotes its standbys: only the changelog's tail is replayed,
and its PStates equal an embedded replay.

Prints the failover time (kill -> first acknowledged append on a lost task) and each promotion's restore;
`tests/workers/test_changelog_failover.py` prints the same without standbys.
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
    """A worker with its own data directory and one standby per task."""
    data.mkdir(parents=True)
    return await launch_worker(url, data, data.name, "--standbys", "1", "--module", "ledger")


def warm_standbys(worker: WorkerProcess) -> set[int]:
    """Tasks whose standby this worker warmed up and has not stopped since."""
    warm: set[int] = set()
    for event in worker.events:
        if event["event"] == "standby":
            warm.add(event["task"])
        elif event["event"] in ("standby_stopped", "standby_failed"):
            warm.discard(event["task"])
    return warm


def test_the_survivor_promotes_its_warm_standbys_and_replays_only_the_tail(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
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
        async def state() -> list[tuple[set[int], set[int]]]:
            return [(w.serving, warm_standbys(w)) for w in workers]

        def split_and_warm(seen: list[tuple[set[int], set[int]]]) -> bool:
            (served_1, warm_1), (served_2, warm_2) = seen
            split = served_1 and served_2 and served_1 | served_2 == set(range(TASKS)) and not served_1 & served_2
            return bool(split) and warm_1 == served_2 and warm_2 == served_1

        await poll_until(state, split_and_warm, 60, "two tasks each, each kept warm by the other worker")
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

        promoted = [e for e in survivor.events if e["event"] == "standby_stopped" and e["reason"] == "promoted"]
        assert {e["task"] for e in promoted} == lost and all(e["state"] == "warm" for e in promoted)
        restores = [e for e in survivor.events if e["event"] == "restored" and e["task"] in lost]
        assert {e["task"] for e in restores} == lost
        assert {e["source"] for e in restores} == {"local"}  # the warm copy, not a cold restore
        written = {t: sum(1 for _, task, _ in load.acks if task == t) for t in lost}  # >= 1 commit per append
        assert all(e["records"] < written[e["task"]] for e in restores), (restores, written)  # only the tail
        assert load.acknowledged <= ids, "an acknowledged transfer is missing from the depot"
        assert count == len(ids), "a transfer was appended twice"
        assert balances == replayed
        print(
            f"\nfailover with standbys (SIGKILL -> first acknowledged append on a lost task): {failover_s:.2f} s; "
            "promotions: "
            + ", ".join(f"task {e['task']} {e['records']} records {e['seconds'] * 1e3:.0f} ms" for e in restores)
        )

    asyncio.run(scenario())
