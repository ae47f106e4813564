"""A worker on "machine A" checkpoints its tasks to S3 and is SIGKILLed; a worker on "machine B", started on an
EMPTY data directory, restores every task from its newest checkpoint plus the changelog's tail.

Checks: each restore's source is the checkpoint and it replayed only the records after it (not the changelog
from 0); the restored PStates equal an embedded replay of the depot; nothing acknowledged is lost or doubled.
Prints each restore.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.depot_storage import KafkaStorage
from cluster.workers.changelog import CHANGELOG_DEPOT, changelog_end
from cluster.workers.checkpoints import CheckpointBucket
from cluster.workers.client import WorkerClient
from modules.examples.ledger import Ledger
from tests.api.s3_server import S3Server, running_s3
from tests.workers.failover_support import ACCOUNTS, TASKS, Load
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until, replay_ledger

CHECKPOINT_RECORDS = 20  # small, so machine A uploads several checkpoints per task during the load


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS on loopback for this file's test."""
    with running_s3(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def test_a_worker_on_an_empty_data_dir_restores_the_killed_worker_s_tasks_from_s3(
    kafka_bootstrap: str, tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = namespace_for(tmp_path)
    url = f"kafka://{kafka_bootstrap}/{namespace}"
    checkpoints = f"s3://{s3.bucket}/checkpoints/{tmp_path.name}?endpoint={s3.endpoint}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.credentials[0])  # boto3's chain, in the workers too
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.credentials[1])
    bucket = CheckpointBucket.from_url(checkpoints)
    workers: list[WorkerProcess] = []

    async def start(name: str) -> WorkerProcess:
        data = tmp_path / name
        data.mkdir()
        options = ["--checkpoints", checkpoints, "--checkpoint-records", str(CHECKPOINT_RECORDS)]
        worker = await launch_worker(url, data, name, *options, "--module", "ledger", "--session-timeout-ms", "3000")
        workers.append(worker)
        return worker

    async def newest_checkpoints() -> dict[int, int]:
        found = {t: await bucket.newest_first(bucket.folder(namespace, "ledger", t)) for t in range(TASKS)}
        return {t: keys[0][0].offset for t, keys in found.items() if keys}

    async def serving_all(worker: WorkerProcess) -> set[int]:
        return worker.serving

    async def scenario() -> None:
        machine_a = await start("machine-a")
        await poll_until(lambda: serving_all(machine_a), lambda s: s == set(range(TASKS)), 60, "A to serve every task")
        async with WorkerClient(url, [Ledger()], TASKS, failover_timeout_s=60) as client:
            load = Load(client)
            for _ in range(160):
                await load.append_one()
            await poll_until(newest_checkpoints, lambda c: len(c) == TASKS, 60, "a checkpoint of every task")
            for _ in range(40):  # the tail: written after (at least) the checkpoints seen above
                await load.append_one()
            covered = await newest_checkpoints()
            os.kill(machine_a.process.pid, signal.SIGKILL)
            await machine_a.process.wait()
            ends = await changelog_ends()
            assert not (tmp_path / "machine-b").exists()  # B starts with nothing of its own
            machine_b = await start("machine-b")
            await poll_until(lambda: serving_all(machine_b), lambda s: s == set(range(TASKS)), 90, "B to serve all")
            replayed, count, ids = await replay_ledger(tmp_path / "replay", url, ACCOUNTS)
            balances = {account: await client.query("ledger", "balance", account) for account in ACCOUNTS}
            total = int(await client.query("ledger", "total_count"))

        restores = {e["task"]: e for e in machine_b.events if e["event"] == "restored"}
        assert set(restores) == set(range(TASKS))
        assert {e["source"] for e in restores.values()} == {"checkpoint"}
        for task, event in restores.items():
            # The restore read the changelog after a checkpoint at least as new as `covered`, never from 0.
            assert event["records"] <= ends[task] - 1 - covered[task], (task, event, covered, ends)
        assert load.acknowledged <= ids, "an acknowledged transfer is missing from the depot"
        assert count == len(ids), "a transfer was appended twice"
        assert (balances, total) == (replayed, count)
        print(
            "\nrestores on an empty data dir (checkpoint + changelog tail): "
            + ", ".join(
                f"task {t} {e['records']} of {ends[t]} records {e['seconds'] * 1e3:.0f} ms"
                for t, e in sorted(restores.items())
            )
        )

    async def changelog_ends() -> dict[int, int]:
        storage = KafkaStorage(kafka_bootstrap, namespace)
        changelog = await storage.open_log("ledger", CHANGELOG_DEPOT, TASKS)
        try:
            return {t: await changelog_end(changelog, t) for t in range(TASKS)}
        finally:
            await changelog.close()
            await storage.close()

    async def guarded() -> None:
        try:
            await scenario()
        except BaseException:
            for worker in workers:
                sys.stderr.write(f"--- {worker.stderr.name}\n{worker.stderr.read_text()[-4000:]}\n")
            raise
        finally:
            for worker in workers:
                await worker.stop()

    asyncio.run(guarded())
