"""A log learning records another log produces: one fetch for many partitions (`poll`), or a hand-over of
entries already durable (`adopt`, `cached`), both cached so the reads that follow need no broker."""

from __future__ import annotations

import asyncio
import re

import pytest

from depots.kafka_log import KafkaDepotLog
from depots.log import LogEntry
from tests.depots.support import TIMESTAMP_MS, expected_entry, payload


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name of this test's own (the broker lives for the whole session)."""
    return "poll-" + re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)


async def produce(log: KafkaDepotLog, partition: int, count: int) -> None:
    """Append `count` records after the partition's end and wait until they are durable."""
    start = log.end_offset(partition)
    for offset in range(start, start + count):
        log.append(partition, payload(partition, offset), TIMESTAMP_MS + offset)
    await log.flush()


def test_one_poll_learns_several_partitions_and_caches_their_records(kafka_bootstrap: str, topic: str) -> None:
    heard: list[tuple[int, int]] = []

    async def scenario() -> None:
        writer = await KafkaDepotLog.open(kafka_bootstrap, topic, 3)
        reader = await KafkaDepotLog.open(kafka_bootstrap, topic, 3)
        reader.add_durable_listener(lambda part, end: heard.append((part, end)))
        await produce(writer, 0, 4)
        await produce(writer, 2, 2)
        await reader.poll([0, 1, 2])
        assert [reader.durable_end(p) for p in range(3)] == [4, 0, 2]
        assert reader.cached(0, 0, 4) == [expected_entry(0, offset) for offset in range(4)]
        assert reader.cached(2, 0, 2) == [expected_entry(2, offset) for offset in range(2)]
        await produce(writer, 0, 3)
        await reader.poll([0])  # goes on from where it stands
        assert reader.cached(0, 0, 7) == [expected_entry(0, offset) for offset in range(7)]
        assert await reader.read(0, 0, 10) == [expected_entry(0, offset) for offset in range(7)]
        await writer.close()
        await reader.close()

    asyncio.run(scenario())
    assert sorted(heard) == [(0, 4), (0, 7), (2, 2)]


def test_a_poll_over_its_byte_budget_takes_the_rest_at_the_next_poll(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        writer = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        reader = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        for _ in range(3):  # three groups: three record batches on the broker
            await produce(writer, 0, 5)
        ends = []
        while reader.durable_end(0) < 15 and len(ends) < 15:
            await reader.poll([0], max_bytes=1)  # at least one batch per answer, whatever the budget
            ends.append(reader.durable_end(0))
        assert ends[-1] == 15 and len(ends) > 1
        assert await reader.read(0, 0, 20) == [expected_entry(0, offset) for offset in range(15)]
        await writer.close()
        await reader.close()

    asyncio.run(scenario())


def test_adopted_entries_are_read_from_the_cache_and_a_gap_only_moves_the_end(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        writer = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        reader = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        await produce(writer, 0, 6)
        handed = writer.cached(0, 0, 6)
        assert handed is not None and writer.cached(0, 0, 7) is None  # nothing past the durable end
        reader.adopt(0, handed[:3], 3)
        assert reader.durable_end(0) == 3 and reader.cached(0, 0, 3) == handed[:3]
        reader.adopt(0, handed[:3], 3)  # told twice: nothing changes
        assert reader.durable_end(0) == 3
        reader.adopt(0, handed[4:], 6)  # offset 3 is missing: the end moves, the broker serves the read
        assert reader.durable_end(0) == 6 and reader.cached(0, 3, 6) is None
        assert await reader.read(0, 3, 10) == [expected_entry(0, offset) for offset in range(3, 6)]
        await writer.close()
        await reader.close()

    asyncio.run(scenario())


def test_a_log_never_adopts_into_a_partition_it_is_appending_to(kafka_bootstrap: str, topic: str) -> None:
    async def scenario() -> None:
        log = await KafkaDepotLog.open(kafka_bootstrap, topic, 1)
        receipt = log.append(0, payload(0, 0), TIMESTAMP_MS)
        foreign = [LogEntry(0, TIMESTAMP_MS, b"not what it appended")]
        log.adopt(0, foreign, 1)  # its own record is in flight: only its publish may move the end
        assert log.durable_end(0) == 0
        await receipt.durable
        assert log.cached(0, 0, 1) == [expected_entry(0, 0)]
        await log.close()

    asyncio.run(scenario())
