"""A zombie worker is fenced: two `tusk worker --changelog` processes on their own data directories; one is
paused (SIGSTOP) under load past its session timeout, its tasks move to the other, and it is resumed (SIGCONT)
with appends to its old tasks waiting in its sockets.

Checks: the zombie writes nothing to the moved tasks (its lease expired: it refuses and drops its tasks, so the
new owner's logs never meet a collision, `PartitionOwnershipError`); it rejoins and serves again; every
acknowledged transfer is in the depot once, and the PStates equal an embedded replay.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from cluster.workers.client import WorkerClient
from cluster.workers.rpc import WorkerRequestError
from modules.examples.ledger import Ledger
from tests.workers.failover_support import ACCOUNTS, TASKS, Load, acknowledged_count, with_workers
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until, replay_ledger


class ZombieLoad(Load):
    """`Load`, where an accepted append whose task closed or whose group was fenced is "maybe appended"."""

    async def append_one(self) -> None:
        """Append the next transfer; an append its task closed under is recorded as of unknown outcome."""
        transfer_id = self.next_id
        try:
            await super().append_one()
        except WorkerRequestError as exc:  # accepted, then its task closed or its group was fenced: maybe appended
            assert "closed before the record was processed" in str(exc) or "fenced" in str(exc), exc
            self.unknown.add(transfer_id)


def test_a_resumed_zombie_writes_nothing_to_the_tasks_it_lost(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def start(name: str) -> WorkerProcess:
        data = tmp_path / name
        data.mkdir()
        return await launch_worker(url, data, name, "--changelog", "--module", "ledger", "--session-timeout-ms", "3000")

    async def scenario() -> None:
        workers = [await start(name) for name in ("machine-1", "machine-2")]
        await with_workers(workers, lambda: run(workers))

    async def run(workers: list[WorkerProcess]) -> None:
        async def shares() -> list[set[int]]:
            return [w.serving for w in workers]

        def split(served: list[set[int]]) -> bool:
            return all(served) and not served[0] & served[1] and served[0] | served[1] == set(range(TASKS))

        await poll_until(shares, split, 60, "both workers to serve two tasks each")
        zombie, survivor = workers
        async with WorkerClient(url, [Ledger()], TASKS, failover_timeout_s=60) as client:
            load = ZombieLoad(client)
            for _ in range(60):
                await load.append_one()
            stopped = asyncio.Event()

            async def appender() -> None:
                while not stopped.is_set():
                    await load.append_one()

            appenders = [asyncio.get_running_loop().create_task(appender()) for _ in range(4)]
            await poll_until(acknowledged_count(load), lambda n: n >= 100, 30, "appends under way before the pause")
            os.kill(zombie.process.pid, signal.SIGSTOP)  # appends to its tasks now wait in its sockets
            try:

                async def survivor_tasks() -> set[int]:
                    return survivor.serving

                await poll_until(survivor_tasks, lambda s: s == set(range(TASKS)), 60, "the survivor to own all")
                resumed_at = len(zombie.events)
            finally:
                os.kill(zombie.process.pid, signal.SIGCONT)

            async def zombie_serving_again() -> list[set[int]]:
                return [set(e["tasks"]) for e in zombie.events[resumed_at:] if e["event"] == "serving"]

            await poll_until(zombie_serving_again, lambda seen: bool(seen and seen[-1]), 60, "the zombie to rejoin")
            await poll_until(shares, split, 60, "the two workers to share the tasks again")
            settled = len(load.acknowledged)
            await poll_until(acknowledged_count(load), lambda n: n >= settled + 60, 60, "appends after the rejoin")
            stopped.set()
            await asyncio.wait_for(asyncio.gather(*appenders), 90)
            replayed, count, ids = await replay_ledger(tmp_path / "replay", url, ACCOUNTS)

            async def counted() -> int:
                return int(await client.query("ledger", "total_count"))

            await poll_until(counted, lambda n: n == count, 60, f"the bucket counts to reach {count}")
            balances = {account: await client.query("ledger", "balance", account) for account in ACCOUNTS}

        zombie_log, survivor_log = zombie.stderr.read_text(), survivor.stderr.read_text()
        assert "group lease expired" in zombie_log  # the fence acted: it dropped its tasks on waking
        for name, text in (("zombie", zombie_log), ("survivor", survivor_log)):
            assert "PartitionOwnershipError" not in text, f"the {name} met a second producer"
            assert "not the history" not in text, f"the {name} restored past a fork"
        assert load.acknowledged <= ids, "an acknowledged transfer is missing from the depot"
        assert count == len(ids), "a transfer was appended twice"
        assert balances == replayed
        print(f"\nzombie fenced: {len(load.acknowledged)} acknowledged, {len(load.unknown)} of unknown outcome")

    asyncio.run(scenario())
