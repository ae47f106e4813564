"""Task stores restored on another machine (another data directory) from S3 checkpoints and the changelog."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.runtime import META_COLUMN
from cluster.workers.changelog import CHANGELOG_DEPOT, POSITION_KEY, ChangelogStore, Position
from cluster.workers.checkpoints import CheckpointBucket, TaskRecovery
from cluster.workers.task_host import TaskHost
from modules.examples.ledger import Ledger
from pstates.store import open_store
from tests.api.s3_server import S3Server, running_s3
from tests.workers.support import namespace_for, replay_ledger
from tests.workers.test_changelog import contents

ACCOUNTS = [f"a{k}" for k in range(13)]
TASKS = 4


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS on loopback for this file's tests."""
    with running_s3(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CheckpointBucket:
    """A checkpoint prefix of this test's own, signed in through boto3's usual environment variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.credentials[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.credentials[1])
    return CheckpointBucket.from_url(f"s3://{s3.bucket}/checkpoints/{tmp_path.name}?endpoint={s3.endpoint}")


async def open_hosts(data_dir: Path, storage: KafkaStorage, recovery: TaskRecovery) -> list[TaskHost]:
    """One task host per task of the ledger, all on `data_dir` (one "machine")."""
    hosts = [TaskHost(data_dir, task, storage, recovery=recovery) for task in range(TASKS)]
    for host in hosts:
        await host.launch(Ledger(), tasks=TASKS)
    return hosts


async def append_transfers(hosts: list[TaskHost], ids: range) -> None:
    runtime = hosts[0].runtime("ledger")
    spec = runtime.definition.depots["*transfers"]
    for transfer_id in ids:
        record = {"id": transfer_id, "account": ACCOUNTS[transfer_id % 13], "amount": transfer_id}
        partition = runtime.partition_for(spec, record, None)
        await hosts[partition].append_to("ledger", "*transfers", partition, record, Ack.PROCESSED)


def balances_of(hosts: list[TaskHost]) -> dict[str, int]:
    runtime = hosts[0].runtime("ledger")
    return {a: hosts[runtime.task_of(a)].query_here("ledger", "balance", (a,), {}) for a in ACCOUNTS}


def test_another_machine_restores_every_task_from_checkpoints_and_the_changelog(
    kafka_bootstrap: str, tmp_path: Path, bucket: CheckpointBucket
) -> None:
    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        first = await open_hosts(tmp_path / "machine-a", storage, TaskRecovery(namespace, bucket))
        await append_transfers(first, range(1, 121))
        keys = [await host.checkpoint_now("ledger") for host in first]
        assert all(key is not None and key.endswith(".tar") for key in keys)
        await append_transfers(first, range(121, 161))
        before = balances_of(first)
        for host in first:
            await host.close()  # machine A is gone: its data directory is never read again

        recovery = TaskRecovery(namespace, bucket)
        second = await open_hosts(tmp_path / "machine-b", storage, recovery)
        assert [r.source for r in recovery.reports] == ["checkpoint"] * TASKS
        assert all(r.records_replayed > 0 for r in recovery.reports)  # the 40 transfers after the checkpoints
        assert balances_of(second) == before
        await append_transfers(second, range(161, 201))  # the new owner goes on writing the same changelog
        after = balances_of(second)
        for host in second:
            await host.close()

        local = TaskRecovery(namespace, bucket)  # machine B restarts: its own stores are part of the history
        third = await open_hosts(tmp_path / "machine-b", storage, local)
        assert [r.source for r in local.reports] == ["local"] * TASKS
        assert [r.records_replayed for r in local.reports] == [0] * TASKS
        assert balances_of(third) == after
        for host in third:
            await host.close()
        await storage.close()
        replayed, count, ids = await replay_ledger(
            tmp_path / "replay", f"kafka://{kafka_bootstrap}/{namespace}", ACCOUNTS
        )
        assert (after, ids) == (replayed, set(range(1, 201)))
        assert count == 200

    asyncio.run(scenario())


def test_a_local_store_ahead_of_the_changelog_is_discarded_and_restored(
    kafka_bootstrap: str, tmp_path: Path, bucket: CheckpointBucket
) -> None:
    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        hosts = await open_hosts(tmp_path / "a", storage, TaskRecovery(namespace, bucket))
        await append_transfers(hosts, range(1, 41))
        expected = balances_of(hosts)
        for host in hosts:
            await host.close()
        # As after a crash between the RocksDB commit and the broker's acknowledgement: task 0's store says it
        # holds a record the changelog never got, and a balance that no transfer made.
        path = tmp_path / "a" / "ledger" / "tasks" / "0" / "pstates"
        raw = open_store(f"rocksdb://{path}")
        batch = raw.new_batch()
        batch.put(raw.column(META_COLUMN), POSITION_KEY, Position(10_000, 7).packed())
        raw.write(batch, sync=True)
        raw.close()
        recovery = TaskRecovery(namespace, bucket)
        reopened = await open_hosts(tmp_path / "a", storage, recovery)
        assert [r.source for r in recovery.reports] == ["changelog", "local", "local", "local"]
        assert balances_of(reopened) == expected
        for host in reopened:
            await host.close()
        await storage.close()

    asyncio.run(scenario())


KEYS = int(os.environ.get("TUSK_RESTORE_KEYS", "20000"))
KEYS_PER_COMMIT = 100


def test_restore_time_from_a_checkpoint_and_from_the_changelog_alone(
    kafka_bootstrap: str, tmp_path: Path, bucket: CheckpointBucket
) -> None:
    """Prints the restore figures of docs/kafka.md (`TUSK_RESTORE_KEYS` sets the key count)."""

    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        log = await storage.open_log("bench", CHANGELOG_DEPOT, 1)
        recovery = TaskRecovery(namespace, bucket)
        source = ChangelogStore(open_store(f"rocksdb://{tmp_path / 'source'}"), log, 0, Position())
        column = source.column("$$values")
        for first in range(0, KEYS, KEYS_PER_COMMIT):
            batch = source.new_batch()
            for k in range(first, min(KEYS, first + KEYS_PER_COMMIT)):
                batch.put(column, f"key-{k:08d}".encode(), b"v" * 100)
            source.write(batch)
        started = time.monotonic()
        assert await recovery.checkpoint(source, tmp_path / "source", "bench", 0) is not None
        checkpoint_s = time.monotonic() - started
        timings = {}
        for name, used in (("checkpoint", recovery), ("changelog", TaskRecovery(namespace))):
            empty = open_store(f"rocksdb://{tmp_path / name}")
            restored = await used.open(empty, tmp_path / name, "bench", 0, log)
            assert used.reports[-1].source == name
            assert contents(restored) == contents(source)
            timings[name] = used.reports[-1].seconds
            restored.close()
        print(
            f"\n{KEYS} keys, {KEYS // KEYS_PER_COMMIT} commits: take+upload checkpoint {checkpoint_s:.2f} s, ", end=""
        )
        print(
            f"restore from checkpoint {timings['checkpoint']:.2f} s, from changelog alone {timings['changelog']:.2f} s"
        )
        source.close()
        await log.close()
        await storage.close()

    asyncio.run(scenario())
