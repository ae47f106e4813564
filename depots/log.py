"""The depot log interface: an append-only, partitioned, durable log of opaque records.

One `DepotLog` holds one depot's partitions. Offsets in a partition start at 0 and are contiguous. The
embedded implementation is `depots.segment_log.SegmentLog`; a Kafka-topic implementation sits behind the
same interface in the distributed runtime.

Visibility rule: `read` returns only *durable* records (those a group commit has finished), so a topology
never acts on a record that a crash could still take away.
"""

from __future__ import annotations

import asyncio
import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass


class FsyncPolicy(enum.Enum):
    """When a group commit forces appended records to the disk."""

    # Every group commit ends with fsync; an acknowledged append survives a power loss. The default.
    ALWAYS = "always"
    # Records reach the OS page cache only: they survive a process crash (SIGKILL), not a power loss.
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One stored record: its offset, the append time in ms since the epoch, and the encoded payload."""

    offset: int
    timestamp_ms: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class AppendReceipt:
    """Where an append landed; `durable` resolves once the group commit holding it has finished."""

    partition: int
    offset: int
    durable: asyncio.Future[None]


# Called with (partition, durable_end) whenever a partition's durable end advances.
DurableListener = Callable[[int, int], None]


class DepotLog(ABC):
    """Append-only log of one depot's partitions."""

    @property
    @abstractmethod
    def partitions(self) -> int:
        """Number of partitions."""

    @abstractmethod
    def append(self, partition: int, payload: bytes, timestamp_ms: int) -> AppendReceipt:
        """Assign the next offset of `partition` to `payload` and queue it for the next group commit."""

    @abstractmethod
    async def flush(self) -> None:
        """Wait until every record appended so far is durable."""

    @abstractmethod
    def durable_end(self, partition: int) -> int:
        """One past the last durable offset of `partition` (0 when empty)."""

    @abstractmethod
    async def read(self, partition: int, start: int, max_records: int) -> list[LogEntry]:
        """Up to `max_records` durable entries of `partition` from offset `start` on, in order."""

    @abstractmethod
    def add_durable_listener(self, listener: DurableListener) -> None:
        """Call `listener(partition, durable_end)` each time a partition's durable end advances."""

    @abstractmethod
    async def close(self) -> None:
        """Flush what is pending, then release files. Idempotent."""
