"""Producing one group of a Kafka depot log exactly once, through broker outages.

The Kafka log sends its record batches itself (raw `Produce` requests, acks=all) instead of through aiokafka's
producer, because that producer resends a batch whose answer was lost (a broker killed after writing it, a
dropped connection): without an idempotent producer (tansu has none) the batch is then written twice, and
every consumer would apply it twice. Here a lost answer is never resent blindly: the partition's owner
asks the broker for its high watermark and reads back what landed since the first unconfirmed batch. Its
own records, in order, confirm the batches they cover; nothing landed means resend; anything else means
another producer wrote to the partition (`PartitionOwnershipError`), and a high watermark below what the
broker acknowledged means the broker lost records (`LostRecordsError`). Both stop the log.

Transient errors (connection refused or dropped, timeouts, leader not available) are retried with backoff
until `BrokerSettings.outage_timeout_s` has passed since the first one; a broker back within that bound is
a clean retry: appenders only wait longer. After it, `BrokerUnavailableError` says which offsets may or
may not be in the depot. Reads of the log retry the same way (`retrying`).

Limit: a broker that is slow rather than dead may still write a request after its answer timed out; the
read-back then sees nothing, the batch is resent, and the late write collides with it at the offset check
(`PartitionOwnershipError`, not a silent duplicate).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from depots.errors import BrokerUnavailableError, LostRecordsError, PartitionOwnershipError, RecordsNotReadyError
from depots.group_commit import fenced_group_error
from depots.kafka_broker import BrokerSettings, fetch_existing, high_watermark, is_transient, produce, produce_error
from depots.log import LogEntry

_log = logging.getLogger(__name__)

# A broker that answers, but keeps answering without the records below its high watermark, has a hole:
# tansu on S3 raises the watermark before it writes the batch, so a tansu killed in between leaves offsets
# that will never have records. Readers cannot pass such a hole; after this long it is an error.
HOLE_AFTER_S = 5.0
FIRST_RETRY_S = 0.05
MAX_RETRY_S = 0.5
MAX_REQUEST_BYTES = 8 << 20  # a round sends batches of more partitions only while under this
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OutgoingBatch:
    """One encoded record batch and the entries in it; its first entry has the offset the log assigned."""

    data: bytes
    entries: list[LogEntry]

    @property
    def first(self) -> int:
        """The offset the log assigned to the batch's first record."""
        return self.entries[0].offset


@dataclass(slots=True)
class PartitionShare:
    """One partition's part of a group: its batches in order, and how many of them the broker has confirmed."""

    index: int
    batches: list[OutgoingBatch]
    confirmed: int = 0

    @property
    def done(self) -> bool:
        """Whether every batch is confirmed."""
        return self.confirmed == len(self.batches)

    def unconfirmed_entries(self) -> list[LogEntry]:
        """The entries of the batches not confirmed yet, in offset order."""
        return [entry for batch in self.batches[self.confirmed :] for entry in batch.entries]


@dataclass(slots=True)
class OutageClock:
    """Bounds retries of transient errors: from the first failure until `outage_timeout_s` later."""

    settings: BrokerSettings
    what: str
    deadline: float | None = None
    delay: float = field(default=FIRST_RETRY_S)
    empty_since: float | None = None

    async def wait_or_raise(self, error: BaseException, unsure: str = "") -> None:
        """Back off before the next attempt, or raise once the bound has passed (see `HOLE_AFTER_S` too)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if isinstance(error, RecordsNotReadyError):
            self.empty_since = now if self.empty_since is None else self.empty_since
            if now - self.empty_since >= HOLE_AFTER_S:
                raise LostRecordsError(
                    f"{error} for {HOLE_AFTER_S:g} s: the broker counts offsets it has no records for (tansu on S3 "
                    "killed between raising its watermark and writing the batch leaves such a hole); no reader "
                    f"can pass it{unsure}"
                ) from error
        if self.deadline is None:
            self.deadline = now + self.settings.outage_timeout_s
            _log.warning("Kafka broker %s: %s failed (%r); retrying", self.settings.bootstrap, self.what, error)
        if now >= self.deadline:
            raise BrokerUnavailableError(
                f"Kafka broker {self.settings.bootstrap} unavailable for {self.settings.outage_timeout_s:g} s "
                f"while {self.what}: {error!r}{unsure}"
            ) from error
        await asyncio.sleep(min(self.delay, self.deadline - now))
        self.delay = min(self.delay * 2, MAX_RETRY_S)

    def recovered(self) -> None:
        """Note a success: the next failure starts a new outage."""
        if self.deadline is not None:
            _log.warning("Kafka broker %s: %s succeeded again", self.settings.bootstrap, self.what)
        self.deadline, self.delay, self.empty_since = None, FIRST_RETRY_S, None


async def retrying(settings: BrokerSettings, what: str, operation: Callable[[], Awaitable[T]]) -> T:
    """Run `operation`, retrying transient broker errors within the outage bound."""
    clock = OutageClock(settings, what)
    while True:
        try:
            result = await operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            await clock.wait_or_raise(exc)
            continue
        clock.recovered()
        return result


class GroupProducer:
    """Makes the batches of one group durable exactly once (see the module docstring)."""

    def __init__(
        self, client: Any, topic: str, settings: BrokerSettings, check_fence: Callable[[], None] | None = None
    ) -> None:
        self._client = client
        self._topic = topic
        self._settings = settings
        self._check_fence = check_fence  # raises to refuse, right before each request (resends included)

    async def produce(self, shares: list[PartitionShare]) -> None:
        """Confirm every batch of every share, or raise why not (nothing unconfirmed is reported durable)."""
        clock = OutageClock(self._settings, f"producing to {self._topic}")
        unsure = False  # whether an attempt failed without telling what it wrote
        while remaining := [share for share in shares if not share.done]:
            try:
                if unsure:
                    for share in remaining:
                        await self._reconcile(share)
                    unsure = False
                    continue
                await self._send_round(remaining)
                clock.recovered()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                unsure = True
                await clock.wait_or_raise(exc, self._unsure_offsets(remaining))

    async def _send_round(self, shares: list[PartitionShare]) -> None:
        """Send the next batch of each share in one request; confirm those acknowledged at their offsets."""
        request: dict[int, bytes] = {}
        size = 0
        for share in shares:
            data = share.batches[share.confirmed].data
            if request and size + len(data) > MAX_REQUEST_BYTES:
                break
            request[share.index], size = data, size + len(data)
        shares = [share for share in shares if share.index in request]
        if self._check_fence is not None:
            try:  # as late as we can: a pause since the group was taken must not land it after
                self._check_fence()
            except Exception as exc:
                raise fenced_group_error(self._topic, exc) from exc
        answers = await produce(self._client, self._topic, request, self._settings.request_timeout_ms)
        failure: Exception | None = None
        for share in shares:
            answer = answers[share.index]
            if answer.error_code != 0:
                failure = failure or produce_error(answer.error_code)
                continue
            assigned = share.batches[share.confirmed].first
            if answer.base_offset != assigned:
                raise PartitionOwnershipError(
                    f"{self._topic}/{share.index}: a batch assigned offset {assigned} landed at "
                    f"{answer.base_offset}; another producer wrote to this partition. Reopen the log."
                )
            share.confirmed += 1
        if failure is not None:
            raise failure  # a retriable one (leader not available...) is retried after a reconcile

    async def _reconcile(self, share: PartitionShare) -> None:
        """Learn which unconfirmed batches of `share` the broker has; confirm them, so only the rest is resent."""
        first = share.batches[share.confirmed].first
        end = await high_watermark(self._client, self._topic, share.index)
        if end < first:
            raise LostRecordsError(
                f"{self._topic}/{share.index}: the broker's end is {end}, below offset {first} it acknowledged: "
                "its storage lost acknowledged records"
            )
        expected = share.unconfirmed_entries()
        landed = await self._read_back(share.index, first, end)
        if [e.payload for e in landed] != [e.payload for e in expected[: len(landed)]] or len(landed) > len(expected):
            raise PartitionOwnershipError(
                f"{self._topic}/{share.index}: offsets {first}..{end - 1} hold records this log did not send "
                "there; another producer wrote to this partition. Reopen the log."
            )
        count = len(landed)
        while count and count >= len(share.batches[share.confirmed].entries):
            count -= len(share.batches[share.confirmed].entries)
            share.confirmed += 1
        if count:
            raise PartitionOwnershipError(f"{self._topic}/{share.index}: a batch from offset {first} landed in part")
        if landed:
            _log.warning(
                "%s/%d: offsets %d..%d landed, their answer was lost", self._topic, share.index, first, end - 1
            )

    async def _read_back(self, partition: int, start: int, end: int) -> list[LogEntry]:
        """Read offsets [start, end) of `partition` from the broker."""
        entries: list[LogEntry] = []
        while start + len(entries) < end:
            fetched = await fetch_existing(self._client, self._topic, partition, start + len(entries), 1 << 20)
            entries += [entry for entry in fetched.entries if entry.offset < end]
        return entries

    def _unsure_offsets(self, shares: list[PartitionShare]) -> str:
        """Say which offsets may or may not be in the depot if the outage outlasts the bound."""
        ranges = [f"{share.index}@{share.batches[share.confirmed].first}.." for share in shares if not share.done]
        return f"; records of partitions {', '.join(ranges)} may or may not be in the depot" if ranges else ""
