"""The promotion figure of docs/kafka.md: a task of N keys made current from a warm standby vs cold restores.

`TUSK_RESTORE_KEYS` sets N (20,000 by default; the documented figure is 200,000).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.depot_storage import KafkaStorage
from cluster.workers.changelog import CHANGELOG_DEPOT, ChangelogStore, Position
from cluster.workers.checkpoints import CheckpointBucket, TaskRecovery
from cluster.workers.standby import StandbyReplica
from pstates.store import open_store
from tests.api.s3_server import S3Server, running_s3
from tests.workers.support import namespace_for
from tests.workers.test_standby import everything

KEYS = int(os.environ.get("TUSK_RESTORE_KEYS", "20000"))
KEYS_PER_COMMIT = 100


@pytest.fixture
def bucket(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[CheckpointBucket]:
    """A checkpoint bucket on SeaweedFS (loopback), signed in through boto3's usual environment variables."""
    server: S3Server
    with running_s3(tmp_path_factory.mktemp("seaweedfs")) as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.credentials[0])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.credentials[1])
        yield CheckpointBucket.from_url(f"s3://{server.bucket}/checkpoints?endpoint={server.endpoint}")


def test_promotion_from_a_warm_standby_vs_cold_restores(
    kafka_bootstrap: str, tmp_path: Path, bucket: CheckpointBucket
) -> None:
    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        log = await storage.open_log("bench", CHANGELOG_DEPOT, 1)
        owner = ChangelogStore(open_store(f"rocksdb://{tmp_path / 'owner'}"), log, 0, Position())
        standby_log = await storage.open_log("bench", CHANGELOG_DEPOT, 1)
        standby_path = tmp_path / "standby" / "pstates"
        replica = StandbyReplica("bench", 0, standby_path, standby_log, TaskRecovery(namespace))
        replica.start()
        column = owner.column("$$values")
        for first in range(0, KEYS, KEYS_PER_COMMIT):  # the owner writes while the standby follows
            batch = owner.new_batch()
            for k in range(first, min(KEYS, first + KEYS_PER_COMMIT)):
                batch.put(column, f"key-{k:08d}".encode(), b"v" * 100)
            owner.write(batch)
            await asyncio.sleep(0)
        await owner.durable()
        recovery = TaskRecovery(namespace, bucket)
        assert await recovery.checkpoint(owner, tmp_path / "owner", "bench", 0) is not None  # covers every commit

        # Promotion, timed from the moment the owner's last commit is durable: stop following, then the new
        # owner's recovery on the standby's store (it replays whatever the standby had not applied yet).
        started = time.monotonic()
        handed = await replica.hand_over()
        assert handed is not None
        warm = TaskRecovery(namespace)
        promoted = await warm.open(handed, standby_path, "bench", 0, log)
        warm_s = time.monotonic() - started
        assert warm.reports[-1].source == "local" and everything(promoted) == everything(owner)
        promoted.close()
        timings = {}
        for name, used in (("checkpoint", recovery), ("changelog", TaskRecovery(namespace))):
            restored = await used.open(open_store(f"rocksdb://{tmp_path / name}"), tmp_path / name, "bench", 0, log)
            assert used.reports[-1].source == name and everything(restored) == everything(owner)
            timings[name] = used.reports[-1].seconds
            restored.close()
        print(
            f"\n{KEYS} keys, {KEYS // KEYS_PER_COMMIT} commits: promotion from a warm standby {warm_s:.3f} s "
            f"({warm.reports[-1].records_replayed} records behind); cold from a checkpoint covering every commit "
            f"{timings['checkpoint']:.2f} s; cold from the changelog alone {timings['changelog']:.2f} s"
        )
        owner.close()
        for opened in (standby_log, log):
            await opened.close()
        await storage.close()

    asyncio.run(scenario())
