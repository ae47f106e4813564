"""Standby replicas: a warm copy follows its task's changelog exactly, skips stray records, stops on corruption,
and a task host promoted on it replays only the tail."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path
from typing import Any

import pytest

from cluster.depot_storage import KafkaStorage
from cluster.workers import changelog as changelog_module
from cluster.workers.changelog import (
    CHANGELOG_DEPOT,
    PUT,
    ChangelogCorruptError,
    ChangelogStore,
    Position,
    encode_changelog_record,
)
from cluster.workers.checkpoints import TaskRecovery
from cluster.workers.standby import StandbyReplica, Standbys
from cluster.workers.task_host import TaskHost
from modules.examples.ledger import Ledger
from pstates.store import KVStore, open_store
from tests.workers.support import namespace_for, poll_until, replay_ledger
from tests.workers.test_checkpoints import ACCOUNTS, TASKS, append_transfers, balances_of, open_hosts


def everything(store: KVStore) -> dict[str, list[tuple[bytes, bytes]]]:
    """Every pair of every column, the changelog position included."""
    return {name: list(store.range(store.column(name))) for name in store.column_names()}


def write_rounds(store: ChangelogStore, rounds: range) -> None:
    """Commits of ten puts, a delete and (in round 3) a range delete each."""
    column = store.column("$$things")
    for round_ in rounds:
        batch = store.new_batch()
        for k in range(10):
            batch.put(column, f"k{round_}-{k}".encode(), f"v{round_}".encode() * 3)
        batch.delete(column, f"k{round_ - 1}-0".encode())
        if round_ == 3:
            batch.delete_range(column, b"k1-", b"k1-5")
        store.write(batch)


async def caught_up(replica: StandbyReplica, position: Position) -> None:
    async def probe() -> Position:
        return replica.position

    await poll_until(probe, lambda p: p == position, 30, f"the standby to reach {position}")


def test_a_standby_follows_the_owner_byte_for_byte_and_skips_a_stray_record(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changelog_module, "CHUNK_BYTES", 64)  # every commit spans several records

    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        log = await storage.open_log("m", CHANGELOG_DEPOT, 2)
        owner = ChangelogStore(open_store(f"rocksdb://{tmp_path / 'owner'}"), log, 1, Position())
        write_rounds(owner, range(3))
        await owner.durable()
        events: list[dict[str, Any]] = []
        path = tmp_path / "standby" / "pstates"
        # The standby reads through a log of its own, as on another worker.
        replica = StandbyReplica(
            "m", 1, path, await storage.open_log("m", CHANGELOG_DEPOT, 2), TaskRecovery(namespace), events.append
        )
        replica.start()
        await caught_up(replica, owner.position)
        assert [(e["event"], e["source"]) for e in events] == [("standby", "changelog")] and events[0]["records"] > 0
        # A previous owner still running appends a commit that does not continue the history.
        log.append(1, encode_changelog_record(0, True, [("$$things", PUT, b"zombie", b"!")]), 0)
        write_rounds(owner, range(3, 6))
        await owner.durable()
        await caught_up(replica, owner.position)
        assert replica.state == "warm"
        assert await replica.stop() == owner.position
        await replica.changelog.close()

        # Restarted on its own path, the standby starts from its copy and replays only what it missed.
        write_rounds(owner, range(6, 8))
        await owner.durable()
        again = StandbyReplica(
            "m", 1, path, await storage.open_log("m", CHANGELOG_DEPOT, 2), TaskRecovery(namespace), events.append
        )
        again.start()
        await caught_up(again, owner.position)
        assert events[-1]["source"] == "local" and 0 < events[-1]["records"] < owner.records_written
        await again.stop()
        await again.changelog.close()

        # Promotion: the owner's recovery on the standby's path finds it current and replays nothing.
        recovery = TaskRecovery(namespace)
        promoted = await recovery.open(open_store(f"rocksdb://{path}"), path, "m", 1, log)
        assert (recovery.reports[-1].source, recovery.reports[-1].records_replayed) == ("local", 0)
        assert everything(promoted) == everything(owner)
        assert promoted.get(promoted.column("$$things"), b"zombie") is None
        for store in (owner, promoted):
            store.close()
        await log.close()
        await storage.close()

    asyncio.run(scenario())


def test_a_corrupt_record_stops_the_standby_with_its_place(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        log = await storage.open_log("m", CHANGELOG_DEPOT, 1)
        good = encode_changelog_record(-1, True, [("$$x", PUT, b"a", b"1")])
        log.append(0, good, 0)
        await log.flush()
        events: list[dict[str, Any]] = []
        replica = StandbyReplica(
            "m",
            0,
            tmp_path / "s",
            await storage.open_log("m", CHANGELOG_DEPOT, 1),
            TaskRecovery(namespace),
            events.append,
        )
        replica.start()
        await caught_up(replica, Position(0, zlib.crc32(good)))
        bad = bytearray(encode_changelog_record(0, True, [("$$x", PUT, b"a", b"2")]))
        bad[-1] ^= 0xFF
        log.append(0, bytes(bad), 0)
        await log.flush()

        async def state() -> str:
            return replica.state

        await poll_until(state, lambda s: s == "failed", 30, "the standby to stop")
        assert isinstance(replica.error, ChangelogCorruptError)
        assert "record 0/1: checksum mismatch" in str(replica.error)
        assert events[-1]["event"] == "standby_failed" and "0/1" in events[-1]["error"]
        assert await replica.stop() == Position(0, zlib.crc32(good))  # nothing past the last good record
        store = open_store(f"rocksdb://{tmp_path / 's'}")
        assert store.get(store.column("$$x"), b"a") == b"1"
        store.close()
        await replica.changelog.close()
        await log.close()
        await storage.close()

    asyncio.run(scenario())


def test_task_hosts_promoted_on_their_standbys_serve_the_same_ledger(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        storage = KafkaStorage(kafka_bootstrap, namespace)
        owners = await open_hosts(tmp_path / "machine-a", storage, TaskRecovery(namespace))
        await append_transfers(owners, range(1, 61))
        events: list[dict[str, Any]] = []
        standbys = Standbys(storage, tmp_path / "machine-b", [Ledger()], TASKS, TaskRecovery(namespace), events.append)
        await standbys.reconcile(frozenset(range(TASKS)))
        await append_transfers(owners, range(61, 121))  # while the standbys warm up and follow
        expected = balances_of(owners)
        ends = [host.runtime("ledger").stores[host.task] for host in owners]
        for host in owners:
            await host.close()  # machine A is gone (its microbatches may have committed until now)
        for task, store in enumerate(ends):
            assert isinstance(store, ChangelogStore)
            await caught_up(standbys.replicas[task][0], store.position)

        recovery = TaskRecovery(namespace)
        promoted = []
        for task in range(TASKS):
            warm = await standbys.promote(task)
            assert list(warm) == ["ledger"]
            promoted.append(TaskHost(tmp_path / "machine-b", task, storage, recovery=recovery, adopted=warm))
            await promoted[-1].launch(Ledger(), tasks=TASKS)
        assert [(r.source, r.records_replayed) for r in recovery.reports] == [("local", 0)] * TASKS
        assert [e["reason"] for e in events if e["event"] == "standby_stopped"] == ["promoted"] * TASKS
        assert balances_of(promoted) == expected
        await append_transfers(promoted, range(121, 141))  # the new owners go on writing the changelog
        after = balances_of(promoted)
        for host in promoted:
            await host.close()
        await storage.close()
        replayed, count, ids = await replay_ledger(
            tmp_path / "replay", f"kafka://{kafka_bootstrap}/{namespace}", ACCOUNTS
        )
        assert (after, count, ids) == (replayed, 140, set(range(1, 141)))

    asyncio.run(scenario())
