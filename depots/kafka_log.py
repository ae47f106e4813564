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
each partition's share as record batches of up to 1 MiB and waits for all acknowledgements before the next
group, so a partition's batches reach the broker in order (aiokafka keeps one request in flight per broker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka.errors import KafkaError

from depots.errors import PartitionOwnershipError
from depots.group_commit import CacheLimits, GroupCommitLog, GroupPartition, PendingGroup
from depots.kafka_broker import BrokerSession, BrokerSettings, ensure_topic, fetch, high_watermark
from depots.log import LogEntry

# Measured (the worker chaos test): reading quiet ~450-record partitions of tansu 0.6.0 from offset 0, 16 of
# 40 reads met an empty fetch below the high watermark; the next fetch at that offset returned the records.
EMPTY_FETCH_RETRIES = 20


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
        self._producer = session.producer
        self._client = session.client
        self._owns_session = owns_session

    @classmethod
    async def open(
        cls,
        bootstrap: str,
        topic: str,
        partitions: int,
        *,
        connect_timeout_s: float = 10.0,
        cache_entries: int = 65_536,
        cache_bytes: int = 32 << 20,
        fetch_max_bytes: int = 4 << 20,
    ) -> KafkaDepotLog:
        """Connect (raising `BrokerUnavailableError` after `connect_timeout_s`), create the topic if needed.

        The log owns its connections and closes them with itself; `open_on` shares a session instead.
        """
        if fetch_max_bytes < 1:
            raise ValueError("fetch_max_bytes must be positive")
        settings = BrokerSettings(bootstrap, connect_timeout_s=connect_timeout_s, fetch_max_bytes=fetch_max_bytes)
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
        ends = [await high_watermark(session.client, topic, index) for index in range(partitions)]
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
        self._learn(part, await high_watermark(self._client, self._topic, partition))
        return part.durable_end

    async def _release(self) -> None:
        """Close the broker connections if this log owns them (a shared session is closed by its opener)."""
        if self._owns_session:
            await self._session.close()

    async def _read_broker(self, part: _Partition, start: int, max_records: int) -> list[LogEntry]:
        """Fetch until `max_records` entries are read or the high watermark is reached."""
        entries: list[LogEntry] = []
        empty_answers = 0
        while len(entries) < max_records:
            fetched = await fetch(self._client, self._topic, part.index, start, self._settings.fetch_max_bytes)
            self._learn(part, fetched.high_watermark)
            batch = [entry for entry in fetched.entries if entry.offset < fetched.high_watermark]
            if not batch and start < fetched.high_watermark and empty_answers < EMPTY_FETCH_RETRIES:
                empty_answers += 1  # tansu 0.6.0 at times answers a fetch below its high watermark with nothing
                continue
            entries += batch[: max_records - len(entries)]
            if not batch or batch[-1].offset + 1 >= fetched.high_watermark:
                break
            start = batch[-1].offset + 1
        return entries

    def _learn(self, part: _Partition, high_watermark: int) -> None:
        """Advance a partition's durable end to a high watermark seen in a response, telling the listeners."""
        if part.learn_end(high_watermark):
            self._notify(part.index, part.durable_end)

    async def _commit(self, group: list[tuple[_Partition, PendingGroup]]) -> None:
        """Produce a group, check every acknowledged base offset, then publish it (or fail it and stop)."""
        if self._fail_if_failed(group):
            return
        sent: list[tuple[_Partition, list[tuple[int, asyncio.Future[Any]]]]] = []
        try:
            for part, pending in group:
                sent.append((part, await self._send(part.index, pending)))
            for part, acks in sent:
                self._check_offsets(part.index, [(first, (await ack).offset) for first, ack in acks])
        except (KafkaError, OSError, PartitionOwnershipError) as exc:
            for _, acks in sent:
                for _, ack in acks:
                    ack.add_done_callback(_retrieve)  # the group's futures carry the error once
            self._fail(group, exc)
            return
        self._publish(group)

    async def _send(self, partition: int, pending: PendingGroup) -> list[tuple[int, asyncio.Future[Any]]]:
        """Queue one partition's share as record batches; return each batch's first offset and acknowledgement."""
        return [
            (first, await self._producer.send_batch(batch, self._topic, partition=partition))
            for first, batch in self._batches(pending.base, pending.entries)
        ]

    def _batches(self, base: int, entries: list[LogEntry]) -> Iterable[tuple[int, Any]]:
        """Split entries into record batches the producer accepts; yield (first offset, batch)."""
        batch, first = self._producer.create_batch(), base
        for entry in entries:
            if batch.append(key=None, value=entry.payload, timestamp=entry.timestamp_ms) is None:
                batch.close()
                yield first, batch
                batch, first = self._producer.create_batch(), entry.offset
                if batch.append(key=None, value=entry.payload, timestamp=entry.timestamp_ms) is None:
                    raise PartitionOwnershipError("unreachable: an empty batch refused a record")
        batch.close()
        yield first, batch

    def _check_offsets(self, partition: int, batches: list[tuple[int, int]]) -> None:
        """Raise `PartitionOwnershipError` unless each batch landed at the offset this log assigned to it."""
        for assigned, landed in batches:
            if assigned != landed:
                raise PartitionOwnershipError(
                    f"{self._topic}/{partition}: a batch assigned offset {assigned} landed at {landed}; another "
                    "producer wrote to this partition (or a retry duplicated a request). Reopen the log."
                )


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as retrieved."""
    if not future.cancelled():
        future.exception()
