"""The Kafka depot log against a real broker: offsets, reads, durability, listeners, reopen, ownership, errors."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from depots.errors import (
    BrokerUnavailableError,
    LogClosedError,
    LogFailedError,
    LogLayoutError,
    PartitionOwnershipError,
)
from depots.kafka_log import KafkaDepotLog
from depots.log import AppendReceipt, LogEntry
from tests.depots.support import TIMESTAMP_MS, expected_entry, payload
from tests.tansu import free_port


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name of this test's own (the broker lives for the whole session)."""
    return "depot-" + re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)


def append_many(log: KafkaDepotLog, partition: int, count: int) -> list[AppendReceipt]:
    """Append `count` records after the partition's current end, without waiting."""
    start = log.end_offset(partition)
    return [
        log.append(partition, payload(partition, offset), TIMESTAMP_MS + offset)
        for offset in range(start, start + count)
    ]


async def read_all(log: KafkaDepotLog, partition: int, start: int = 0) -> list[LogEntry]:
    """Read every durable entry of a partition in one call."""
    return await log.read(partition, start, log.durable_end(partition) + 1)


def test_round_trip_across_partitions_with_contiguous_offsets(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 3)
        receipts = [receipt for _ in range(4) for part in (2, 0, 1) for receipt in append_many(log, part, 5)]
        await log.flush()
        for part in range(3):
            assert [receipt.offset for receipt in receipts if receipt.partition == part] == list(range(20))
            assert await read_all(log, part) == [expected_entry(part, offset) for offset in range(20)]
            assert log.durable_end(part) == log.end_offset(part) == 20
        assert all(receipt.durable.done() for receipt in receipts)
        await log.close()

    asyncio.run(scenario())


def test_records_are_durable_only_once_the_broker_acknowledged(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        [receipt] = append_many(log, 0, 1)
        # No produce request has gone out yet: the record has its offset but is not durable.
        assert (receipt.offset, log.end_offset(0), log.durable_end(0)) == (0, 1, 0)
        assert not receipt.durable.done()
        await receipt.durable
        assert log.durable_end(0) == 1
        assert await log.read(0, 0, 10) == [expected_entry(0, 0)]
        await log.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(("start", "count"), [(0, 1), (3, 4), (17, 100), (39, 5), (40, 5), (0, 0), (12, 28)])
def test_reads_from_any_offset_from_cache_and_from_the_broker(
    kafka_bootstrap: str, topic: str, start: int, count: int
) -> None:
    async def scenario() -> None:
        writer = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        for _ in range(8):  # eight produce requests, so broker reads cross record batches
            append_many(writer, 0, 5)
            await writer.flush()
        # A fresh log caches nothing; a tiny fetch budget makes it fetch once per record batch.
        reader = await KafkaDepotLog.open(kafka_bootstrap, topic, 1, fetch_max_bytes=1)
        expected = [expected_entry(0, offset) for offset in range(start, min(start + count, 40))]
        assert await writer.read(0, start, count) == expected
        assert await reader.read(0, start, count) == expected
        await writer.close()
        await reader.close()

    asyncio.run(scenario())


def test_a_large_group_is_split_into_batches_with_contiguous_offsets(kafka_bootstrap: str, topic: str) -> None:
    big = b"y" * 1_000

    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        receipts = [log.append(0, big + str(index).encode(), TIMESTAMP_MS) for index in range(3_000)]  # ~3 MB
        await log.flush()
        assert [receipt.offset for receipt in receipts] == list(range(3_000))
        reader = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        entries = await read_all(reader, 0)
        assert [entry.payload for entry in entries] == [big + str(index).encode() for index in range(3_000)]
        assert [entry.offset for entry in entries] == list(range(3_000))
        await log.close()
        await reader.close()

    asyncio.run(scenario())


def test_listeners_hear_each_durable_advance(kafka_bootstrap: str, topic: str) -> None:
    heard: list[tuple[int, int]] = []

    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 2)
        log.add_durable_listener(lambda part, end: heard.append((part, end)))
        append_many(log, 1, 3)
        await log.flush()
        append_many(log, 0, 2)
        append_many(log, 1, 1)
        await log.flush()
        await log.close()

    asyncio.run(scenario())
    assert heard == [(1, 3), (0, 2), (1, 4)]


def test_a_failing_listener_does_not_stop_the_log(
    kafka_bootstrap: str, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[int] = []

    def broken(partition: int, durable_end: int) -> None:
        raise RuntimeError("listener bug")

    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        log.add_durable_listener(broken)
        log.add_durable_listener(lambda _, end: heard.append(end))
        [receipt] = append_many(log, 0, 1)
        await receipt.durable
        await log.close()

    asyncio.run(scenario())
    assert heard == [1]
    assert "durable listener" in caplog.text


def test_a_reopened_log_sees_every_record_and_appends_after_them(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        first = await KafkaDepotLog.open(kafka_bootstrap, topic, 2)
        append_many(first, 0, 7)
        append_many(first, 1, 3)
        await first.close()  # close flushes
        second = await KafkaDepotLog.open(kafka_bootstrap, topic, 2)
        assert [second.durable_end(part) for part in range(2)] == [7, 3]
        assert [receipt.offset for receipt in append_many(second, 1, 2)] == [3, 4]
        await second.flush()
        for part, count in ((0, 7), (1, 5)):
            # Entries come from the broker, timestamps included (the Kafka record timestamp).
            assert await read_all(second, part) == [expected_entry(part, offset) for offset in range(count)]
        await second.close()

    asyncio.run(scenario())


def test_a_reader_in_another_log_sees_new_records_when_it_reads_at_its_end(kafka_bootstrap: str, topic: str) -> None:
    heard: list[tuple[int, int]] = []

    async def scenario() -> None:
        writer = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        reader = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        reader.add_durable_listener(lambda part, end: heard.append((part, end)))
        append_many(writer, 0, 4)
        await writer.flush()
        assert reader.durable_end(0) == 0  # it has not asked the broker yet
        assert await reader.read(0, 0, 10) == [expected_entry(0, offset) for offset in range(4)]
        assert reader.durable_end(0) == 4
        append_many(writer, 0, 1)
        await writer.flush()
        assert await reader.refresh(0) == 5
        await writer.close()
        await reader.close()

    asyncio.run(scenario())
    assert heard == [(0, 4), (0, 5)]


def test_a_second_producer_on_an_owned_partition_stops_the_log(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        owner = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        intruder = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        await intruder.append(0, b"intruder", TIMESTAMP_MS).durable
        receipt = owner.append(0, b"owner", TIMESTAMP_MS)  # predicted offset 0, but 0 is taken
        assert receipt.offset == 0
        with pytest.raises(PartitionOwnershipError, match="assigned offset 0 landed at 1"):
            await receipt.durable
        with pytest.raises(LogFailedError):
            owner.append(0, b"again", TIMESTAMP_MS)
        assert owner.durable_end(0) == 0  # nothing this log assigned became durable where it said
        await owner.close()
        await intruder.close()

    asyncio.run(scenario())


def test_an_existing_topic_with_another_partition_count_is_refused(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        await (await KafkaDepotLog.open(kafka_bootstrap, topic, 2)).close()
        with pytest.raises(LogLayoutError, match="has 2 partitions, the depot declares 4"):
            await KafkaDepotLog.open(kafka_bootstrap, topic, 4)

    asyncio.run(scenario())


def test_misuse_is_refused(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 2)
        with pytest.raises(IndexError):
            log.append(2, b"x", TIMESTAMP_MS)
        with pytest.raises(ValueError, match="negative"):
            await log.read(0, -1, 1)
        await log.close()
        await log.close()  # idempotent
        with pytest.raises(LogClosedError):
            log.append(0, b"x", TIMESTAMP_MS)
        with pytest.raises(LogClosedError):
            await log.read(0, 0, 1)

    asyncio.run(scenario())


def test_an_unreachable_broker_gives_a_clear_error_within_the_bound() -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there

    async def scenario() -> None:
        with pytest.raises(BrokerUnavailableError, match=f"Kafka broker {address} unreachable"):
            await KafkaDepotLog.open(address, "depot-nowhere", 1, connect_timeout_s=2.0)

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 3.0
