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
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError

from depots.errors import LogClosedError, LogFailedError, PartitionOwnershipError
from depots.kafka_broker import (
    BrokerSettings,
    ensure_topic,
    fetch,
    high_watermark,
    new_client,
    new_producer,
    start_within,
)
from depots.log import AppendReceipt, DepotLog, DurableListener, LogEntry

_log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class _Pending:
    """Records appended to one partition since the flusher last took its group."""

    base: int
    entries: list[LogEntry] = field(default_factory=list)
    futures: list[asyncio.Future[None]] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Partition:
    """One partition: the next offset to assign, the durable end, the pending group and the tail cache."""

    index: int
    end_offset: int
    durable_end: int
    pending: _Pending
    # The newest durable entries this process appended: [cache_base, cache_base + len(cache)), below durable_end.
    cache: list[LogEntry] = field(default_factory=list)
    cache_base: int = 0

    @classmethod
    def at(cls, index: int, end: int) -> _Partition:
        """Return a partition whose log ends at `end`."""
        return cls(index, end, end, _Pending(end), cache_base=end)

    def take_pending(self) -> _Pending:
        """Hand the pending group to the flusher and start a new one."""
        pending, self.pending = self.pending, _Pending(self.end_offset)
        return pending

    def publish(self, group: _Pending, cache_entries: int) -> None:
        """Mark an acknowledged group durable: resolve its futures and cache its entries."""
        self.durable_end = max(self.durable_end, group.base + len(group.entries))
        for future in group.futures:
            if not future.done():
                future.set_result(None)
        if self.cache_base + len(self.cache) == group.base:
            self.cache += group.entries
        else:  # a fetch saw the group's records first and reset the cache: restart it at the group
            self.cache, self.cache_base = list(group.entries), group.base
        if len(self.cache) > cache_entries:
            drop = len(self.cache) - cache_entries * 3 // 4  # amortize eviction
            del self.cache[:drop]
            self.cache_base += drop

    def learn_end(self, high_watermark: int) -> bool:
        """Take a high watermark from the broker; return whether the durable end advanced."""
        if high_watermark <= self.durable_end:
            return False
        if self.end_offset == self.durable_end:  # nothing of ours in flight: follow the broker
            self.end_offset = high_watermark
            self.pending.base = high_watermark
        # The cache must stay contiguous: drop it, the broker has what this process did not append.
        self.durable_end = high_watermark
        self.cache, self.cache_base = [], high_watermark
        return True


class KafkaDepotLog(DepotLog):
    """A depot log on one Kafka topic; this process must be the only producer to the partitions it appends to."""

    def __init__(
        self,
        settings: BrokerSettings,
        topic: str,
        partitions: list[_Partition],
        producer: Any,
        client: Any,
        cache_entries: int,
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._parts = partitions
        self._producer = producer
        self._client = client
        self._cache_entries = cache_entries
        self._listeners: list[DurableListener] = []
        self._dirty: list[_Partition] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._failure: BaseException | None = None
        self._closing = False
        self._closed = False

    @classmethod
    async def open(
        cls,
        bootstrap: str,
        topic: str,
        partitions: int,
        *,
        connect_timeout_s: float = 10.0,
        cache_entries: int = 65_536,
        fetch_max_bytes: int = 4 << 20,
    ) -> KafkaDepotLog:
        """Connect (raising `BrokerUnavailableError` after `connect_timeout_s`), create the topic if needed."""
        if partitions < 1 or cache_entries < 0 or fetch_max_bytes < 1:
            raise ValueError("partitions and fetch_max_bytes must be positive, cache_entries not negative")
        settings = BrokerSettings(bootstrap, connect_timeout_s=connect_timeout_s, fetch_max_bytes=fetch_max_bytes)
        await ensure_topic(settings, topic, partitions)
        client = new_client(settings)
        await start_within(settings, client, "fetch client")
        producer = new_producer(settings)
        try:
            await start_within(settings, producer, "producer")
            ends = [await high_watermark(client, topic, index) for index in range(partitions)]
        except BaseException:
            await producer.stop()
            await client.close()
            raise
        parts = [_Partition.at(index, end) for index, end in enumerate(ends)]
        return cls(settings, topic, parts, producer, client, cache_entries)

    @property
    def partitions(self) -> int:
        """Number of partitions."""
        return len(self._parts)

    @property
    def topic(self) -> str:
        """The Kafka topic holding the depot."""
        return self._topic

    def append(self, partition: int, payload: bytes, timestamp_ms: int) -> AppendReceipt:
        """Assign the next offset of `partition` to `payload` and queue it for the next produce request."""
        part = self._partition(partition)
        if self._closing:
            raise LogClosedError(f"depot log {self._topic} is closed")
        if self._failure is not None:
            raise LogFailedError(f"depot log {self._topic} failed: {self._failure}") from self._failure
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = part.pending
        if not pending.entries:
            self._dirty.append(part)
        offset = part.end_offset
        part.end_offset = offset + 1
        pending.entries.append(LogEntry(offset, timestamp_ms, payload))
        pending.futures.append(future)
        self._ensure_flusher()
        return AppendReceipt(partition, offset, future)

    async def flush(self) -> None:
        """Wait until every record appended so far is acknowledged; raise `LogFailedError` if one never will be."""
        loop = asyncio.get_running_loop()
        targets = [part.end_offset for part in self._parts]
        while any(part.durable_end < target for part, target in zip(self._parts, targets, strict=True)):
            if self._failure is not None:
                raise LogFailedError(f"depot log {self._topic} failed: {self._failure}") from self._failure
            self._ensure_flusher()
            waiter = loop.create_future()
            self._flush_waiters.append(waiter)
            await waiter

    def durable_end(self, partition: int) -> int:
        """One past the last acknowledged offset of `partition`, as this process has seen it (0 when empty)."""
        return self._partition(partition).durable_end

    def end_offset(self, partition: int) -> int:
        """The offset the next append to `partition` gets."""
        return self._partition(partition).end_offset

    async def read(self, partition: int, start: int, max_records: int) -> list[LogEntry]:
        """Up to `max_records` durable entries of `partition` from offset `start` on, in order.

        Recent entries come from the tail cache; others from the broker. A read at or past the known
        durable end asks the broker for its high watermark, so a process that only reads sees new records.
        """
        part = self._partition(partition)
        if self._closed:
            raise LogClosedError(f"depot log {self._topic} is closed")
        if start < 0:
            raise ValueError(f"read offset must not be negative, got {start}")
        if max_records <= 0:
            return []
        stop = min(start + max_records, part.durable_end)
        if part.cache_base <= start < stop <= part.cache_base + len(part.cache):
            return part.cache[start - part.cache_base : stop - part.cache_base]
        return await self._read_broker(part, start, max_records)

    async def refresh(self, partition: int) -> int:
        """Ask the broker for `partition`'s high watermark, tell listeners if it advanced; return the durable end."""
        part = self._partition(partition)
        self._learn(part, await high_watermark(self._client, self._topic, partition))
        return part.durable_end

    def add_durable_listener(self, listener: DurableListener) -> None:
        """Call `listener(partition, durable_end)` each time a partition's durable end advances."""
        self._listeners.append(listener)

    async def close(self) -> None:
        """Flush what is pending, then close the broker connections. Idempotent."""
        self._closing = True
        with contextlib.suppress(LogFailedError):  # each failed append got the error through its future
            await self.flush()
        if not self._closed:
            self._closed = True
            await self._producer.stop()
            await self._client.close()

    def _partition(self, partition: int) -> _Partition:
        """Return partition `partition`, refusing indexes out of range (negative ones included)."""
        if not 0 <= partition < len(self._parts):
            raise IndexError(f"partition {partition} out of range for {len(self._parts)} partitions")
        return self._parts[partition]

    async def _read_broker(self, part: _Partition, start: int, max_records: int) -> list[LogEntry]:
        """Fetch until `max_records` entries are read or the high watermark is reached."""
        entries: list[LogEntry] = []
        while len(entries) < max_records:
            fetched = await fetch(self._client, self._topic, part.index, start, self._settings.fetch_max_bytes)
            self._learn(part, fetched.high_watermark)
            batch = [entry for entry in fetched.entries if entry.offset < fetched.high_watermark]
            entries += batch[: max_records - len(entries)]
            if not batch or batch[-1].offset + 1 >= fetched.high_watermark:
                break
            start = batch[-1].offset + 1
        return entries

    def _learn(self, part: _Partition, high_watermark: int) -> None:
        """Advance a partition's durable end to a high watermark seen in a response, telling the listeners."""
        if part.learn_end(high_watermark):
            self._notify(part.index, part.durable_end)

    def _ensure_flusher(self) -> None:
        """Start the flusher task unless it is running."""
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        """Send groups until nothing is pending, then exit (the next append starts a new flusher)."""
        try:
            while self._dirty:
                group = [(part, part.take_pending()) for part in self._dirty]
                self._dirty = []
                await self._commit(group)
                self._wake_flush_waiters()
        finally:
            self._flusher = None
            self._wake_flush_waiters()

    async def _commit(self, group: list[tuple[_Partition, _Pending]]) -> None:
        """Produce a group, check every acknowledged base offset, then publish it (or fail it and stop)."""
        if self._failure is not None:
            self._fail(group, LogFailedError(f"depot log {self._topic} failed: {self._failure}"))
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
        for part, pending in group:
            part.publish(pending, self._cache_entries)
        for part, _ in group:
            self._notify(part.index, part.durable_end)

    async def _send(self, partition: int, pending: _Pending) -> list[tuple[int, asyncio.Future[Any]]]:
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

    def _notify(self, partition: int, durable_end: int) -> None:
        """Call every durable listener; one that raises must not stop the others or the log."""
        for listener in self._listeners:
            try:
                listener(partition, durable_end)
            except Exception:
                _log.exception("durable listener %r failed for partition %d", listener, partition)

    def _fail(self, group: list[tuple[_Partition, _Pending]], error: BaseException) -> None:
        """Fail every future of `group` with `error` and stop the log: its assigned offsets are void now.

        A failed append is "maybe appended", as after a timeout: the broker may hold it all the same.
        """
        if self._failure is None:
            self._failure = error
            _log.error("depot log %s failed; appends now raise until it is reopened", self._topic, exc_info=error)
        for _, pending in group:
            for future in pending.futures:
                if not future.done():
                    future.set_exception(error)
                    future.exception()  # logged once above; an awaiter still gets it

    def _wake_flush_waiters(self) -> None:
        """Let every waiting `flush` re-check its targets."""
        waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

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
