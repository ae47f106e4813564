"""Two `tusk worker` processes share the ledger's tasks; one is SIGKILLed under load; the other takes over.

Checks: every task is served again, and the survivor's PStates are exactly an embedded replay's of the
same depot (nothing acknowledged lost, nothing applied twice, no duplicate record appended). Prints the
failover time (kill -> first acknowledged append on a task of the killed worker) and append latencies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.workers.client import AppendOutcomeUnknownError, WorkerClient
from modules.examples.ledger import Ledger
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until, replay_ledger

ACCOUNTS = [f"a{k}" for k in range(13)]
TASKS = 4


async def start_worker(url: str, data: Path, name: str) -> WorkerProcess:
    """A worker hosting the ledger, on the data directory the workers share."""
    return await launch_worker(url, data, name, "--module", "ledger")


@dataclass
class Load:
    """Transfers appended one at a time, and what became of each."""

    client: WorkerClient
    acknowledged: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)  # the connection broke after sending: maybe appended
    acks: list[tuple[float, int, float]] = field(default_factory=list)  # (time, task, latency)
    next_id: int = 1

    async def append_one(self) -> None:
        transfer_id, self.next_id = self.next_id, self.next_id + 1
        record = {"id": transfer_id, "account": ACCOUNTS[transfer_id % len(ACCOUNTS)], "amount": transfer_id}
        started = time.monotonic()
        try:
            result = await self.client.append("ledger", "*transfers", record, Ack.PROCESSED)
        except AppendOutcomeUnknownError:
            self.unknown.add(transfer_id)
            return
        self.acknowledged.add(transfer_id)
        self.acks.append((time.monotonic(), result.partition % TASKS, time.monotonic() - started))


def _count(load: Load) -> Any:
    async def acknowledged() -> int:
        return len(load.acknowledged)

    return acknowledged


def test_a_sigkilled_worker_s_tasks_move_to_the_survivor_with_exact_pstates(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"
    data = tmp_path / "data"

    async def scenario() -> None:
        workers = [await start_worker(url, data, name) for name in ("w1", "w2")]
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
        async with WorkerClient(url, [Ledger()], TASKS, failover_timeout_s=60) as client:
            load = Load(client)
            for _ in range(120):
                await load.append_one()
            steady = sorted(latency for _, _, latency in load.acks)

            victim, survivor = workers
            lost = victim.serving
            killed_at = 0.0

            def recovered() -> list[float]:
                return [at - killed_at for at, task, _ in load.acks if killed_at and at > killed_at and task in lost]

            async def appender() -> None:  # four of these keep appends in flight when the kill lands
                while len(recovered()) < 40:
                    await load.append_one()

            appenders = [asyncio.get_running_loop().create_task(appender()) for _ in range(4)]
            await poll_until(_count(load), lambda n: n >= 200, 30, "appends under way before the kill")
            killed_at = time.monotonic()
            os.kill(victim.process.pid, signal.SIGKILL)
            await victim.process.wait()
            await asyncio.wait_for(asyncio.gather(*appenders), 90)  # appends to lost tasks block, then go on
            failover_s = min(recovered())

            async def survivor_tasks() -> set[int]:
                return survivor.serving

            await poll_until(survivor_tasks, lambda s: s == set(range(TASKS)), 30, "the survivor to own every task")
            replayed, count, ids = await replay_ledger(tmp_path / "replay", url, ACCOUNTS)

            async def counted() -> int:
                return int(await client.query("ledger", "total_count"))

            await poll_until(counted, lambda n: n == count, 60, f"the survivor's bucket counts to reach {count}")
            balances = {account: await client.query("ledger", "balance", account) for account in ACCOUNTS}

        assert load.acknowledged <= ids, "an acknowledged transfer is missing from the depot"
        assert count == len(ids), "a transfer was appended twice"
        assert ids <= load.acknowledged | load.unknown
        assert balances == replayed
        print(
            f"\nfailover (SIGKILL -> first acknowledged append on a lost task): {failover_s:.2f} s; "
            f"append PROCESSED via client, steady: p50 {steady[len(steady) // 2] * 1e3:.1f} ms, "
            f"p99 {steady[int(len(steady) * 0.99)] * 1e3:.1f} ms; acknowledged {len(load.acknowledged)}, "
            f"unknown outcome {len(load.unknown)}, in the depot {count}"
        )

    asyncio.run(scenario())
