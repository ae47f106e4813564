"""The distributed depot log: one depot is one Kafka topic, partition p of the depot is partition p of the topic.

Offsets: `append` is synchronous and must return the record's offset, but Kafka tells the offset only in the
produce response. This log therefore *owns* the partitions it appends to, as a task owns its partition in
the worker model: at open it learns each partition's end from the broker's high watermark, then assigns
offsets itself (`end + 1` per append), exactly as the segment log does. Each acknowledgement is checked:
the broker's base offset of every batch must be the offset this log assigned to its first record. If it is
not, another producer wrote to the partition (or a retried request was written twice); the receipts'
offsets are then void, so the group's `durable` futures fail with `PartitionOwnershipError` and the log
stops (later appends raise `LogFailedError`), as the segment log stops after a failed fsync. A reopened log
learns the new end and goes on. Reading, unlike appending, is open to any number of processes.

Durability: a record is durable when the broker acknowledged it with `acks=all` (every in-sync replica has
it); on tansu that means its storage engine has it (memory: lost with the broker process; S3: kept).
`durable_end` is the high watermark as seen by this process, from produce acknowledgements and from fetch
responses, never from `ListOffsets(LATEST)`, which tansu answers wrongly.

Group commit: appends gather per partition while the previous group is in flight; one flusher task sends
each partition's share as record batches of up to 1 MiB, one batch per partition per `Produce` request, and
confirms every batch before the next group (`depots.kafka_produce`: exactly once through broker restarts).

Integrity: each record's key is the CRC-32 of its value. A read from the broker checks it (and each batch's
CRC), so a record this log did not write (garbage produced by another client) or a damaged one raises
`CorruptLogError` naming topic, partition and offset; a read returns the records before it first, so a
topology stops exactly at it instead of skipping it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from aiokafka.record.default_records import DefaultRecordBatchBuilder

from depots.errors import CorruptLogError
from depots.group_commit import CacheLimits, GroupCommitLog, GroupPartition, PendingGroup
from depots.kafka_broker import (
    BrokerSession,
    BrokerSettings,
    FetchedPartition,
    ensure_topic,
    fetch,
    fetch_existing,
    fetch_many,
    high_watermark,
    high_watermarks,
)
from depots.kafka_produce import GroupProducer, OutgoingBatch, PartitionShare, retrying
from depots.log import LogEntry
from pstates.errors import TuskError

MAX_BATCH_BYTES = 1 << 20
POLL_MAX_BYTES = 1 << 20  # per partition and poll: a bigger backlog comes over the next polls


class _Partition(GroupPartition[PendingGroup]):
    """One partition: the next offset to assign, the durable end, the pending group and the tail cache.

    The cache holds the newest durable entries this process appended, below the durable end.
    """

    def new_pending(self, base: int) -> PendingGroup:
        """Return an empty pending group starting at `base`."""
        return PendingGroup(base)

    def learn_end(self, high_watermark: int) -> bool:
        """Take a high watermark from the broker; return whether the durable end advanced."""
        if high_watermark <= self.durable_end:
            return False
        if self.end_offset == self.durable_end:  # nothing of ours in flight: follow the broker
            self.end_offset = high_watermark
            self.pending.base = high_watermark
        # The cache must stay contiguous: drop it, the broker has what this process did not append.
        self.durable_end = high_watermark
        self.cache.reset(high_watermark)
        return True


class KafkaDepotLog(GroupCommitLog[_Partition, PendingGroup]):
    """A depot log on one Kafka topic; this process must be the only producer to the partitions it appends to."""

    def __init__(self, session: BrokerSession, topic: str, partitions: list[_Partition], owns_session: bool) -> None:
        super().__init__(topic, partitions)
        self._session = session
        self._settings = session.settings
        self._topic = topic
        self._client = session.client
        self._producer = GroupProducer(session.client, topic, session.settings, self.check_fence)
        self._owns_session = owns_session

    @classmethod
    async def open(
        cls,
        bootstrap: str,
        topic: str,
        partitions: int,
        *,
        connect_timeout_s: float = 10.0,
        outage_timeout_s: float = 60.0,
        cache_entries: int = 65_536,
        cache_bytes: int = 32 << 20,
        fetch_max_bytes: int = 4 << 20,
    ) -> KafkaDepotLog:
        """Connect (raising `BrokerUnavailableError` after `connect_timeout_s`), create the topic if needed.

        The log owns its connections and closes them with itself; `open_on` shares a session instead.
        `outage_timeout_s` bounds how long produces and reads retry a broker that stopped answering.
        """
        if fetch_max_bytes < 1:
            raise ValueError("fetch_max_bytes must be positive")
        settings = BrokerSettings(
            bootstrap,
            connect_timeout_s=connect_timeout_s,
            fetch_max_bytes=fetch_max_bytes,
            outage_timeout_s=outage_timeout_s,
        )
        session = await BrokerSession.connect(settings)
        try:
            return await cls.open_on(
                session, topic, partitions, cache_entries=cache_entries, cache_bytes=cache_bytes, owns_session=True
            )
        except BaseException:
            await session.close()
            raise

    @classmethod
    async def open_on(
        cls,
        session: BrokerSession,
        topic: str,
        partitions: int,
        *,
        cache_entries: int = 65_536,
        cache_bytes: int = 32 << 20,
        owns_session: bool = False,
    ) -> KafkaDepotLog:
        """Open the log of `topic` over a connected session, creating the topic if needed."""
        if partitions < 1 or cache_entries < 0 or cache_bytes < 0:
            raise ValueError("partitions must be positive, cache limits not negative")
        await ensure_topic(session, topic, partitions)
        # Every partition's end in one request per broker: a hop topic has tasks x tasks partitions, and a
        # task host opens one per topology with steps (one request each made a launch take seconds).
        what = f"reading the ends of {topic}"
        ends = await retrying(session.settings, what, lambda: high_watermarks(session.client, topic, partitions))
        limits = CacheLimits(cache_entries, cache_bytes)
        parts = [_Partition(index, end, limits) for index, end in enumerate(ends)]
        return cls(session, topic, parts, owns_session)

    @property
    def topic(self) -> str:
        """The Kafka topic holding the depot."""
        return self._topic

    async def read(self, partition: int, start: int, max_records: int) -> list[LogEntry]:
        """Up to `max_records` durable entries of `partition` from offset `start` on, in order.

        Recent entries come from the tail cache; others from the broker. A read at or past the known
        durable end asks the broker for its high watermark, so a process that only reads sees new records.
        """
        part = self._readable(partition, start)
        if max_records <= 0:
            return []
        stop = min(start + max_records, part.durable_end)
        if part.cache.covers(start, stop):
            return part.cache.slice(start, stop)
        return await self._read_broker(part, start, max_records)

    async def refresh(self, partition: int) -> int:
        """Ask the broker for `partition`'s high watermark, tell listeners if it advanced; return the durable end."""
        part = self._partition(partition)
        self._learn(part, await _end_with_retries(self._client, self._settings, self._topic, partition))
        return part.durable_end

    async def poll(self, partitions: list[int], max_bytes: int = POLL_MAX_BYTES) -> None:
        """Learn new durable records of `partitions` (another process produces them) with one fetch per leader.

        What the fetch brings from each partition's durable end on is cached, so the reads that follow do
        not ask the broker again; a partition whose answer stops short of its high watermark (over
        `max_bytes`) goes on from there at the next poll.
        """
        starts = {partition: self._partition(partition).durable_end for partition in partitions}
        if not starts:
            return
        what = f"polling {self._topic} partitions {sorted(starts)}"
        answers = await retrying(self._settings, what, lambda: fetch_many(self._client, self._topic, starts, max_bytes))
        for partition, fetched in answers.items():
            part = self._partition(partition)
            if part.durable_end != starts[partition]:
                continue  # learned meanwhile (a read, a sibling's hand-over): this answer may be stale
            # Up to the first record this log did not write: the next poll learns the end past it, and the
            # topology's read of it raises `CorruptLogError`.
            entries = self._checked(partition, fetched, have_some=True)
            self.adopt(partition, entries, entries[-1].offset + 1 if entries else fetched.high_watermark)

    def cached(self, partition: int, start: int, stop: int) -> list[LogEntry] | None:
        """The durable entries [start, stop) of `partition` if this process's tail cache holds them all."""
        part = self._partition(partition)
        if stop > part.durable_end or not part.cache.covers(start, stop):
            return None
        return part.cache.slice(start, stop)

    def adopt(self, partition: int, entries: list[LogEntry], end: int) -> None:
        """Take durable records of a partition another log produces: `entries` from wherever they start, `end`
        the durable end they come from. Entries that continue this log's durable end are cached (reads then
        need no broker); a gap or a shortfall only moves the durable end (reads fetch what is missing).

        The producer may be another log of this process (a sibling task host's) or a fetch: either way these
        are records the broker acknowledged, so the durable end only ever follows the broker's.
        """
        part = self._partition(partition)
        if part.end_offset != part.durable_end:  # this log appends here itself: only its publishes move the end
            return
        fresh = [entry for entry in entries if entry.offset >= part.durable_end]
        contiguous = bool(fresh) and fresh[-1].offset - fresh[0].offset + 1 == len(fresh)
        if contiguous and fresh[0].offset == part.durable_end:
            part.cache.add(PendingGroup(fresh[0].offset, fresh, [], sum(len(entry.payload) for entry in fresh)))
            part.durable_end = part.end_offset = part.pending.base = fresh[-1].offset + 1
            if part.durable_end >= end:
                self._notify(part.index, part.durable_end)
                return
        self._learn(part, end)

    async def _release(self) -> None:
        """Close the broker connections if this log owns them (a shared session is closed by its opener)."""
        if self._owns_session:
            await self._session.close()

    async def _read_broker(self, part: _Partition, start: int, max_records: int) -> list[LogEntry]:
        """Fetch until `max_records` entries are read or the high watermark is reached.

        Entries before a corrupt record or a hole are returned; a read starting at it raises the error.
        """
        entries: list[LogEntry] = []
        while len(entries) < max_records:
            try:
                fetched = await self._fetch(part, start)
            except TuskError:  # a hole, or the broker gone for good: hand out what precedes it first
                if entries:
                    break
                raise
            self._learn(part, fetched.high_watermark)
            batch = self._checked(part.index, fetched, bool(entries))
            entries += batch[: max_records - len(entries)]
            if len(batch) < len(fetched.entries) or not batch or batch[-1].offset + 1 >= fetched.high_watermark:
                break
            start = batch[-1].offset + 1
        return entries

    async def _fetch(self, part: _Partition, start: int) -> FetchedPartition:
        """Fetch from `start`, retrying a broker that does not answer within the outage bound."""
        what = f"reading {self._topic}/{part.index} from offset {start}"
        max_bytes = self._settings.fetch_max_bytes
        if start >= part.durable_end:  # a probe for records not seen yet: do not hold the broker
            return await retrying(self._settings, what, lambda: fetch(self._client, self._topic, part.index, start, 1))
        return await retrying(
            self._settings, what, lambda: fetch_existing(self._client, self._topic, part.index, start, max_bytes)
        )

    def _checked(self, partition: int, fetched: FetchedPartition, have_some: bool) -> list[LogEntry]:
        """The fetched entries below the high watermark, up to the first one this log did not write."""
        checked: list[LogEntry] = []
        for entry, key in zip(fetched.entries, fetched.keys, strict=True):
            if entry.offset >= fetched.high_watermark:
                break
            if key != record_key(entry.payload):
                if checked or have_some:
                    break  # hand out what precedes it; the next read starts at it and raises
                raise CorruptLogError(
                    f"{self._topic}/{partition} offset {entry.offset}: not a record of this depot (its key is not "
                    f"the CRC-32 of its {len(entry.payload)}-byte value: written by another client, or damaged)"
                )
            checked.append(entry)
        return checked

    def _learn(self, part: _Partition, high_watermark: int) -> None:
        """Advance a partition's durable end to a high watermark seen in a response, telling the listeners."""
        if part.learn_end(high_watermark):
            self._notify(part.index, part.durable_end)

    async def _commit(self, group: list[tuple[_Partition, PendingGroup]]) -> None:
        """Produce a group exactly once, then publish it (or fail it and stop the log)."""
        if self._fail_if_failed(group):
            return
        shares = [PartitionShare(part.index, list(_batches(pending.entries))) for part, pending in group]
        try:
            await self._producer.produce(shares)
        except Exception as exc:  # whatever failed, the group's offsets are void: fail it, never leave it waiting
            self._fail(group, exc)
            return
        self._publish(group)


def record_key(payload: bytes) -> bytes:
    """The key a depot record carries: the CRC-32 of its value, 4 bytes big-endian."""
    return zlib.crc32(payload).to_bytes(4, "big")


async def _end_with_retries(client: Any, settings: BrokerSettings, topic: str, partition: int) -> int:
    """A partition's high watermark, retrying a broker that does not answer within the outage bound."""
    what = f"reading the end of {topic}/{partition}"
    return await retrying(settings, what, lambda: high_watermark(client, topic, partition))


def _batches(entries: list[LogEntry]) -> Iterable[OutgoingBatch]:
    """Split a partition's entries into record batches of up to `MAX_BATCH_BYTES` (a bigger record goes alone)."""
    builder, members = _new_builder(), list[LogEntry]()
    for entry in entries:
        key = record_key(entry.payload)
        if builder.append(len(members), entry.timestamp_ms, key, entry.payload, []) is None:
            yield OutgoingBatch(bytes(builder.build()), members)
            builder, members = _new_builder(), list[LogEntry]()
            if builder.append(0, entry.timestamp_ms, key, entry.payload, []) is None:
                raise ValueError(f"a record of {len(entry.payload)} bytes fits no record batch")
        members.append(entry)
    if members:
        yield OutgoingBatch(bytes(builder.build()), members)


def _new_builder() -> DefaultRecordBatchBuilder:
    """An empty record batch: magic 2, no compression, no producer id (no idempotence on tansu)."""
    return DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, MAX_BATCH_BYTES)
