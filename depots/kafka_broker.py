"""The broker side of the Kafka depot log: connect within a bound, create the topic, fetch records.

aiokafka ships no type information, so this module is the one place that touches its untyped objects and
returns plain typed values. Reads use raw `Fetch` requests rather than an `AIOKafkaConsumer`: a depot read
is a random access (partition, offset, count) and the consumer's prefetching position model fits it badly.

Measured quirks of tansu 0.6.0 (the broker of the tests) that shape this module:

* A `Fetch` with `max_wait_time=0` answers with no topics at all, so polls use 1 ms.
* `ListOffsets(LATEST)` is not trusted (issue 5); the high watermark of a fetch response is.
* A fetch past the end answers with no error and the high watermark (Kafka answers `OFFSET_OUT_OF_RANGE`),
  so the end of a partition is learned by fetching from offset 0 with a 1-byte budget.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, KafkaTimeoutError, for_code
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.memory_records import MemoryRecords

from depots.errors import BrokerUnavailableError, CorruptLogError, LogLayoutError, RecordsNotReadyError
from depots.log import LogEntry
from pstates.errors import TuskError

_TOPIC_ALREADY_EXISTS = 36
# Depot topics keep every record (no retention, no compaction: tansu has no compaction anyway) and
# store the appender's timestamp, which topologies read as the record's time.
_TOPIC_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete", "message.timestamp.type": "CreateTime"}
_POLL_WAIT_MS = 1
# How long a read of records below the high watermark lets the broker look for them: tansu answers a fetch
# with what it found within max_wait_time, and reading a batch from S3 takes more than 1 ms (measured with
# SeaweedFS: 1 ms -> no records, 50 ms -> the batch in ~15 ms). It answers as soon as it has them.
DATA_WAIT_MS = 500
_ACKS_ALL = -1


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """How to reach the broker and how long to wait for it."""

    bootstrap: str
    connect_timeout_s: float = 10.0
    request_timeout_ms: int = 15_000
    fetch_max_bytes: int = 4 << 20
    # How long a depot log keeps retrying a produce or fetch the broker does not answer (down, restarting)
    # before it gives up with `BrokerUnavailableError`; a restart within this bound is a clean retry.
    outage_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class FetchedPartition:
    """One partition of a fetch response: the high watermark, the entries from the fetch offset on, their keys."""

    high_watermark: int
    entries: list[LogEntry]
    keys: list[bytes | None]


@dataclass(frozen=True, slots=True)
class ProducedPartition:
    """One partition of a produce response: the broker's error code and the base offset of the batch it wrote."""

    error_code: int
    base_offset: int


def is_transient(error: BaseException) -> bool:
    """Tell whether a broker error may go away by itself (broker down, restarting, timing out): retry it."""
    if isinstance(error, BrokerUnavailableError):
        return True
    if isinstance(error, TuskError):  # corruption, ownership, layout: never fixed by waiting
        return False
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False)) or isinstance(error, KafkaTimeoutError)
    return isinstance(error, OSError | TimeoutError)


def produce_error(code: int) -> KafkaError:
    """The aiokafka exception of a produce response's error code (its `retriable` says whether to retry)."""
    error: KafkaError = for_code(code)()
    return error


async def start_within(settings: BrokerSettings, service: Any, what: str) -> None:
    """Start an aiokafka client, producer or admin client, or raise `BrokerUnavailableError` after the bound."""
    try:
        async with asyncio.timeout(settings.connect_timeout_s):
            await service.start() if hasattr(service, "start") else await service.bootstrap()
    except (KafkaError, OSError, TimeoutError) as exc:
        await _close_quietly(service)
        raise BrokerUnavailableError(
            f"Kafka broker {settings.bootstrap} unreachable for the {what} "
            f"(waited at most {settings.connect_timeout_s:g} s): {exc!r}"
        ) from exc


@dataclass(slots=True, eq=False)
class BrokerSession:
    """The connections a process keeps to the broker: admin (topics), fetch client, producer.

    Depot logs share one session; aiokafka batches per topic partition, so logs on distinct topics do not
    disturb each other's order. A session lives on the event loop that connected it.
    """

    settings: BrokerSettings
    admin: Any
    client: Any
    producer: Any
    # Topics this session created or checked, with their partition counts: task hosts sharing a session
    # open the same depots, and a topic's layout never changes (no resharding, topics are never deleted).
    ensured: dict[str, int] = field(default_factory=dict)
    ensuring: dict[str, asyncio.Lock] = field(default_factory=dict)  # one creation in flight per topic

    @classmethod
    async def connect(cls, settings: BrokerSettings) -> BrokerSession:
        """Start the three connections, or raise `BrokerUnavailableError` after the settings' bound."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap, request_timeout_ms=settings.request_timeout_ms
        )
        await start_within(settings, admin, "admin client")
        client, producer = new_client(settings), new_producer(settings)
        try:
            await start_within(settings, client, "fetch client")
            await start_within(settings, producer, "producer")
        except BaseException:
            await _close_quietly(client)
            await admin.close()
            raise
        return cls(settings, admin, client, producer)

    async def close(self) -> None:
        """Stop the producer (after its last acknowledgement), then close the other connections."""
        await self.producer.stop()
        await self.client.close()
        await self.admin.close()


async def ensure_topic(session: BrokerSession, topic: str, partitions: int) -> None:
    """Create `topic` with `partitions` partitions, or check that the existing one has that many (once a session)."""
    async with session.ensuring.setdefault(topic, asyncio.Lock()):  # a sibling opening it too: asked once
        if session.ensured.get(topic) != partitions:
            await _create_or_check(session, topic, partitions)
            session.ensured[topic] = partitions


async def _create_or_check(session: BrokerSession, topic: str, partitions: int) -> None:
    response = await session.admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=_TOPIC_CONFIG)])
    [(_, error_code, message)] = [tuple(error) for error in response.topic_errors]
    if error_code == _TOPIC_ALREADY_EXISTS:
        found = await _partition_count(session.admin, topic)
        if found != partitions:
            raise LogLayoutError(f"topic {topic} has {found} partitions, the depot declares {partitions}")
    elif error_code != 0:
        raise BrokerUnavailableError(f"creating topic {topic} failed: error {error_code} {message}")


def new_producer(settings: BrokerSettings) -> Any:
    """Return an unstarted producer: acks from all in-sync replicas, no idempotence, no lingering.

    Idempotence is off because tansu refuses `InitProducerId`; ordering still holds because aiokafka keeps
    one request in flight per broker, and the log checks every acknowledged base offset (see `kafka_log`).
    """
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        max_batch_size=1 << 20,
        max_request_size=8 << 20,
        request_timeout_ms=settings.request_timeout_ms,
    )


def new_client(settings: BrokerSettings) -> Any:
    """Return an unstarted low-level client for fetches."""
    return AIOKafkaClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=settings.request_timeout_ms)


async def produce(client: Any, topic: str, batches: dict[int, bytes], timeout_ms: int) -> dict[int, ProducedPartition]:
    """Send one record batch per partition in one `Produce` request with acks=all; return each partition's answer.

    One attempt, never retried here: a request whose answer is lost may have been written, so the caller
    must learn what landed before it sends again (aiokafka's producer would resend it blindly).
    """
    node = await _leader(client, topic, next(iter(batches)))
    request = ProduceRequest(None, _ACKS_ALL, timeout_ms, [(topic, list(batches.items()))])
    response = await client.send(node, request)
    answers: dict[int, ProducedPartition] = {}
    for _, partition_responses in response.topics:
        for number, error_code, base_offset, *_ in partition_responses:
            answers[int(number)] = ProducedPartition(int(error_code), int(base_offset))
    missing = set(batches) - set(answers)
    if missing:
        raise BrokerUnavailableError(f"produce to {topic}: the broker answered without partitions {sorted(missing)}")
    return answers


async def fetch(
    client: Any, topic: str, partition: int, start: int, max_bytes: int, wait_ms: int = _POLL_WAIT_MS
) -> FetchedPartition:
    """Fetch entries of one partition from offset `start` on (at most about `max_bytes`), with the high watermark.

    The default wait suits probes at the end (tansu holds a fetch with nothing to return for the whole
    wait); reads of records known to exist pass `DATA_WAIT_MS`.
    """
    return (await fetch_many(client, topic, {partition: start}, max_bytes, wait_ms))[partition]


async def fetch_many(
    client: Any, topic: str, starts: dict[int, int], max_bytes: int, wait_ms: int = _POLL_WAIT_MS
) -> dict[int, FetchedPartition]:
    """Fetch several partitions of `topic`, each from its start offset (about `max_bytes` each), in one request
    per leader: a poll of many partitions costs one round trip, not one per partition."""
    by_leader: dict[int, list[tuple[int, int, int]]] = {}
    for partition, start in starts.items():
        by_leader.setdefault(await _leader(client, topic, partition), []).append((partition, start, max_bytes))
    answers: dict[int, FetchedPartition] = {}
    for node, wanted in by_leader.items():
        request = FetchRequest(wait_ms, 0, max_bytes * len(wanted), 0, [(topic, wanted)])
        response = await client.send(node, request)
        for _, partition_responses in response.topics:
            for number, error_code, high_watermark, *rest in partition_responses:
                if number not in starts:
                    continue
                where = f"{topic}/{number}@{starts[number]}"
                if error_code != 0:
                    raise BrokerUnavailableError(f"fetch {where} failed: error {error_code}")
                entries, keys = _decode(rest[-1] or b"", starts[number], f"{topic}/{number}")
                answers[int(number)] = FetchedPartition(int(high_watermark), entries, keys)
    missing = set(starts) - set(answers)
    if missing:
        raise BrokerUnavailableError(f"fetch {topic}: the broker answered without partitions {sorted(missing)}")
    return answers


async def fetch_existing(client: Any, topic: str, partition: int, start: int, max_bytes: int) -> FetchedPartition:
    """Fetch records known to exist from `start` on; an answer without them raises (transient: retry it)."""
    fetched = await fetch(client, topic, partition, start, max_bytes, DATA_WAIT_MS)
    if not fetched.entries and fetched.high_watermark > start:
        raise RecordsNotReadyError(
            f"{topic}/{partition}: no records from offset {start} within {DATA_WAIT_MS} ms, though the broker's "
            f"high watermark is {fetched.high_watermark}"
        )
    return fetched


async def high_watermark(client: Any, topic: str, partition: int) -> int:
    """Learn a partition's high watermark from a fetch response (not from `ListOffsets`, see above)."""
    return (await fetch(client, topic, partition, 0, 1)).high_watermark


async def high_watermarks(client: Any, topic: str, partitions: int) -> list[int]:
    """Learn every partition's high watermark with one fetch per leader (a log opening on many partitions)."""
    fetched = await fetch_many(client, topic, dict.fromkeys(range(partitions), 0), 1)
    return [fetched[partition].high_watermark for partition in range(partitions)]


def _decode(message_set: bytes, start: int, where: str) -> tuple[list[LogEntry], list[bytes | None]]:
    """Decode a fetched message set into entries at or after `start` and their keys, checking each batch's CRC."""
    records = MemoryRecords(bytes(message_set))
    entries: list[LogEntry] = []
    keys: list[bytes | None] = []
    while records.has_next():
        batch = records.next_batch()
        if batch is None or getattr(batch, "is_control_batch", False):
            continue
        if not batch.validate_crc():  # storage damage: never hand out its records
            raise CorruptLogError(f"{where}: the record batch at offset {batch.base_offset} fails its CRC check")
        for record in batch:
            if record.offset >= start:
                entries.append(LogEntry(record.offset, record.timestamp, bytes(record.value or b"")))
                keys.append(None if record.key is None else bytes(record.key))
    return entries, keys


async def _leader(client: Any, topic: str, partition: int) -> int:
    """Return the node id leading `topic`/`partition`, refreshing metadata once if it is unknown."""
    tp = TopicPartition(topic, partition)
    node = client.cluster.leader_for_partition(tp)
    if node is None or node == -1:
        client.add_topic(topic)
        await client.force_metadata_update()
        node = client.cluster.leader_for_partition(tp)
    if node is None or node == -1:
        raise BrokerUnavailableError(f"no leader known for {topic}/{partition}")
    return int(node)


async def _partition_count(admin: Any, topic: str) -> int:
    """Return how many partitions an existing topic has."""
    [description] = await admin.describe_topics([topic])
    return len(description["partitions"])


async def _close_quietly(service: Any) -> None:
    """Stop or close an aiokafka object that failed to start."""
    closer = getattr(service, "stop", None) or service.close
    with contextlib.suppress(KafkaError, OSError):
        await closer()
