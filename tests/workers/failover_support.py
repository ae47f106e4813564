"""The ledger failover tests' shared run: SIGKILL one of two workers under load, then compare with a replay.

`test_failover.py` (one shared data directory), `test_changelog_failover.py` (separate data directories,
restored from the changelog) and `test_standby_failover.py` (warm standbys promoted) differ in how their
workers start and what they check about the restore; the load, the kill and the comparison are here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.workers.client import AppendOutcomeUnknownError, WorkerClient
from modules.examples.ledger import Ledger
from tests.workers.processes import WorkerProcess
from tests.workers.support import poll_until, replay_ledger

ACCOUNTS = [f"a{k}" for k in range(13)]
TASKS = 4
APPENDERS = 4  # enough to keep appends in flight when the kill lands
RECOVERED_ACKS = 40  # acknowledged appends on lost tasks after the kill before the load stops


@dataclass
class Load:
    """Transfers appended one at a time, and what became of each."""

    client: WorkerClient
    acknowledged: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)  # the connection broke after sending: maybe appended
    acks: list[tuple[float, int, float]] = field(default_factory=list)  # (time, task, latency)
    next_id: int = 1

    async def append_one(self) -> None:
        """Append the next transfer and record its outcome."""
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


def acknowledged_count(load: Load) -> Callable[[], Awaitable[int]]:
    """A probe of how many of `load`'s appends were acknowledged so far (for `poll_until`)."""

    async def acknowledged() -> int:
        return len(load.acknowledged)

    return acknowledged


@dataclass
class Failover:
    """What a kill under load gave: the load, the lost tasks, the failover time, the survivor's and replay's state."""

    load: Load
    lost: set[int]
    failover_s: float
    steady: list[float]  # sorted latencies of the appends made one at a time before the kill
    balances: dict[str, Any]
    replayed: dict[str, int]
    count: int
    ids: set[int]

    def assert_exact(self) -> None:
        """Nothing acknowledged lost, nothing appended twice, the survivor's balances equal the replay's."""
        assert self.load.acknowledged <= self.ids, "an acknowledged transfer is missing from the depot"
        assert self.count == len(self.ids), "a transfer was appended twice"
        assert self.ids <= self.load.acknowledged | self.load.unknown
        assert self.balances == self.replayed


def split_evenly(served: list[set[int]]) -> bool:
    """Two workers serve disjoint, non-empty shares of every task."""
    return all(served) and not served[0] & served[1] and served[0] | served[1] == set(range(TASKS))


async def with_workers(workers: list[WorkerProcess], run: Callable[[], Awaitable[None]]) -> None:
    """Run the scenario; on failure print each worker's stderr tail; stop the workers either way."""
    try:
        await run()
    except BaseException:
        for worker in workers:
            sys.stderr.write(f"--- {worker.stderr.name}\n{worker.stderr.read_text()[-4000:]}\n")
        raise
    finally:
        for worker in workers:
            await worker.stop()


async def kill_under_load(url: str, replay_dir: Path, victim: WorkerProcess, survivor: WorkerProcess) -> Failover:
    """Load the ledger, SIGKILL `victim` mid-load, wait for the survivor to own everything, replay the depot."""
    async with WorkerClient(url, [Ledger()], TASKS, failover_timeout_s=60) as client:
        load = Load(client)
        for _ in range(120):
            await load.append_one()
        steady = sorted(latency for _, _, latency in load.acks)
        lost = victim.serving
        failover_s = await _kill_mid_load(load, victim, lost)

        async def survivor_tasks() -> set[int]:
            return survivor.serving

        await poll_until(survivor_tasks, lambda s: s == set(range(TASKS)), 30, "the survivor to own every task")
        replayed, count, ids = await replay_ledger(replay_dir, url, ACCOUNTS)

        async def counted() -> int:
            return int(await client.query("ledger", "total_count"))

        await poll_until(counted, lambda n: n == count, 60, f"the survivor's bucket counts to reach {count}")
        balances = {account: await client.query("ledger", "balance", account) for account in ACCOUNTS}
    return Failover(load, lost, failover_s, steady, balances, replayed, count, ids)


async def _kill_mid_load(load: Load, victim: WorkerProcess, lost: set[int]) -> float:
    """Kill `victim` with appends in flight; return the time to the first acknowledged append on a lost task."""
    killed_at = 0.0

    def recovered() -> list[float]:
        return [at - killed_at for at, task, _ in load.acks if killed_at and at > killed_at and task in lost]

    async def appender() -> None:
        while len(recovered()) < RECOVERED_ACKS:
            await load.append_one()

    async def acknowledged() -> int:
        return len(load.acknowledged)

    appenders = [asyncio.get_running_loop().create_task(appender()) for _ in range(APPENDERS)]
    await poll_until(acknowledged, lambda n: n >= 200, 30, "appends under way before the kill")
    killed_at = time.monotonic()
    os.kill(victim.process.pid, signal.SIGKILL)
    await victim.process.wait()
    await asyncio.wait_for(asyncio.gather(*appenders), 90)  # appends to lost tasks block, then go on
    return min(recovered())
