"""The changelog of a task store: record format, replay into another store, the history chain, corruption."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.depot_storage import KafkaStorage
from cluster.workers import changelog as changelog_module
from cluster.workers.changelog import (
    CHANGELOG_DEPOT,
    PUT,
    ChangelogCorruptError,
    ChangelogStore,
    Position,
    decode_changelog_record,
    encode_changelog_record,
    holds_durable_record,
    read_position,
    replay_changelog,
)
from pstates.store import KVStore, open_store
from tests.workers.support import namespace_for


def contents(store: KVStore) -> dict[str, list[tuple[bytes, bytes]]]:
    """Every column of `store` but the engine's position key, as sorted pairs."""
    found = {name: list(store.range(store.column(name))) for name in store.column_names()}
    found["_tusk/meta"] = [(k, v) for k, v in found.get("_tusk/meta", []) if k != changelog_module.POSITION_KEY]
    return found


def test_a_record_round_trips_and_a_flipped_byte_is_refused() -> None:
    payload = encode_changelog_record(41, True, [("$$a", PUT, b"k", b"v"), ("$$a", 1, b"gone", None)])
    record = decode_changelog_record(payload, "0/42")
    assert (record.prev, record.final, record.ops) == (41, True, [("$$a", PUT, b"k", b"v"), ("$$a", 1, b"gone", None)])
    damaged = payload[:-1] + bytes([payload[-1] ^ 1])
    with pytest.raises(ChangelogCorruptError, match="0/42: checksum mismatch"):
        decode_changelog_record(damaged, "0/42")


def test_replay_rebuilds_the_store_and_skips_records_off_the_history(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changelog_module, "CHUNK_BYTES", 64)  # every batch of this test spans several records

    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        log = await storage.open_log("m", CHANGELOG_DEPOT, 2)
        source = ChangelogStore(open_store(f"rocksdb://{tmp_path / 'a'}"), log, 1, Position())
        column = source.column("$$things")
        for round_ in range(5):
            batch = source.new_batch()
            for k in range(10):
                batch.put(column, f"k{round_}-{k}".encode(), f"v{round_}".encode() * 3)
            batch.delete(column, f"k{round_ - 1}-0".encode())
            if round_ == 3:
                batch.delete_range(column, b"k1-", b"k1-5")
            source.write(batch)
        await source.durable()
        assert source.records_written > 5  # chunked
        # A previous owner that kept running appends a commit after the history moved on: not part of it.
        log.append(1, encode_changelog_record(0, True, [("$$things", PUT, b"zombie", b"!")]), 0)
        await log.flush()
        target = open_store(f"rocksdb://{tmp_path / 'b'}")
        position = await replay_changelog(target, log, 1, Position())
        assert position == source.position == read_position(target)
        assert contents(target) == contents(source) and target.get(target.column("$$things"), b"zombie") is None
        assert await holds_durable_record(log, 1, position)
        assert not await holds_durable_record(log, 1, Position(position.offset, position.crc ^ 1))
        assert not await holds_durable_record(log, 1, Position(position.offset + 5, 0))
        for store in (source, target):
            store.close()
        await log.close()
        await storage.close()

    asyncio.run(scenario())


def test_a_corrupt_record_stops_the_replay_with_its_place(kafka_bootstrap: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        storage = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        log = await storage.open_log("m", CHANGELOG_DEPOT, 1)
        good = encode_changelog_record(-1, True, [("$$x", PUT, b"a", b"1")])
        log.append(0, good, 0)
        bad = bytearray(encode_changelog_record(0, True, [("$$x", PUT, b"a", b"2")]))
        bad[-1] ^= 0xFF
        log.append(0, bytes(bad), 0)
        await log.flush()
        target = open_store(f"rocksdb://{tmp_path / 'b'}")
        with pytest.raises(ChangelogCorruptError, match=r"record 0/1: checksum mismatch"):
            await replay_changelog(target, log, 0, Position())
        target.close()
        await log.close()
        await storage.close()

    asyncio.run(scenario())
