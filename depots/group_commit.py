"""Group commit, shared by every depot log: offsets, pending groups, the flusher, the tail cache, listeners.

A log built on `GroupCommitLog` assigns offsets itself (`append` is synchronous and returns the offset), gathers
appends per partition while the previous group is being made durable, and hands each group to its `_commit`:
the segment log writes and syncs files, the Kafka log produces and checks the broker's offsets. A group is
published (futures resolved, entries cached, listeners told) only once `_commit` says it is durable; a failed
commit fails the group's futures and stops the log, because the offsets assigned after it are void.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from depots.errors import LogClosedError, LogFailedError
from depots.log import AppendReceipt, DepotLog, DurableListener, LogEntry

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CacheLimits:
    """Bounds of a partition's cache of its most recent durable entries."""

    entries: int
    payload_bytes: int


@dataclass(slots=True, eq=False)
class PendingGroup:
    """Records appended to one partition since the flusher last took its group; the first has offset `base`."""

    base: int
    entries: list[LogEntry] = field(default_factory=list)
    futures: list[asyncio.Future[None]] = field(default_factory=list)
    payload_bytes: int = 0

    def add(self, entry: LogEntry, future: asyncio.Future[None]) -> None:
        """Add one appended entry and the future its appender waits on."""
        self.entries.append(entry)
        self.futures.append(future)
        self.payload_bytes += len(entry.payload)


class TailCache:
    """The newest durable entries a process appended to one partition: offsets [base, end), contiguous."""

    __slots__ = ("base", "entries", "limits", "payload_bytes")

    def __init__(self, base: int, limits: CacheLimits) -> None:
        self.base = base
        self.entries: list[LogEntry] = []
        self.payload_bytes = 0
        self.limits = limits

    @property
    def end(self) -> int:
        """One past the newest cached offset."""
        return self.base + len(self.entries)

    def covers(self, start: int, stop: int) -> bool:
        """Tell whether offsets [start, stop) are all cached."""
        return self.base <= start < stop <= self.end

    def slice(self, start: int, stop: int) -> list[LogEntry]:
        """Cached entries [start, stop); `start` must not be below `base`."""
        return self.entries[start - self.base : stop - self.base]

    def add(self, group: PendingGroup) -> None:
        """Cache a published group; a group that does not follow the cache restarts it (it stays contiguous)."""
        if self.end != group.base:
            self.reset(group.base)
        self.entries += group.entries
        self.payload_bytes += group.payload_bytes
        if len(self.entries) > self.limits.entries or self.payload_bytes > self.limits.payload_bytes:
            self._trim()

    def reset(self, base: int) -> None:
        """Drop every entry; the cache starts again at `base`."""
        self.entries, self.base, self.payload_bytes = [], base, 0

    def _trim(self) -> None:
        """Evict the oldest entries down to 3/4 of the limits, so eviction is amortized."""
        entries, limits = self.entries, self.limits
        drop = max(0, len(entries) - limits.entries * 3 // 4)
        dropped_bytes = sum(len(entry.payload) for entry in entries[:drop])
        keep_bytes = limits.payload_bytes * 3 // 4
        while drop < len(entries) and self.payload_bytes - dropped_bytes > keep_bytes:
            dropped_bytes += len(entries[drop].payload)
            drop += 1
        del entries[:drop]
        self.base += drop
        self.payload_bytes -= dropped_bytes


PendingT = TypeVar("PendingT", bound=PendingGroup)


class GroupPartition(Generic[PendingT]):
    """One partition: the next offset to assign, the durable end, the pending group and the tail cache."""

    def __init__(self, index: int, end: int, cache_limits: CacheLimits) -> None:
        self.index = index
        self.end_offset = end
        self.durable_end = end
        self.pending = self.new_pending(end)
        self.cache = TailCache(end, cache_limits)

    @abstractmethod
    def new_pending(self, base: int) -> PendingT:
        """Return an empty pending group whose first record will get offset `base`."""

    def append(self, payload: bytes, timestamp_ms: int, future: asyncio.Future[None]) -> int:
        """Add `payload` to the pending group and return its offset."""
        offset = self.end_offset
        self.end_offset = offset + 1
        self.pending.add(LogEntry(offset, timestamp_ms, payload), future)
        return offset

    def take_pending(self) -> PendingT:
        """Hand the pending group to the flusher and start a new one."""
        pending, self.pending = self.pending, self.new_pending(self.end_offset)
        return pending

    def publish(self, group: PendingT) -> None:
        """Mark a committed group durable: advance the end, resolve its futures, cache its entries."""
        self.durable_end = max(self.durable_end, group.base + len(group.entries))
        for future in group.futures:
            if not future.done():  # an appender may have cancelled its wait
                future.set_result(None)
        self.cache.add(group)


PartT = TypeVar("PartT", bound="GroupPartition[Any]")
Group = list[tuple[PartT, PendingT]]


class GroupCommitLog(DepotLog, Generic[PartT, PendingT]):
    """A depot log that commits appends in groups; subclasses say how a group becomes durable (`_commit`).

    One flusher task at a time takes every partition's pending records as a group and awaits `_commit`;
    appends made meanwhile form the next group. `name` (a directory, a topic) appears in every error.
    """

    def __init__(self, name: str, partitions: list[PartT]) -> None:
        self._name = name
        self._parts = partitions
        self._listeners: list[DurableListener] = []
        self._dirty: list[PartT] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._failure: BaseException | None = None
        self._closing = False
        self._closed = False
        # Called (if set) before taking an append and before producing a group; raises to refuse. Workers set
        # it to their group lease's check, so a zombie writes nothing (`cluster.workers.fencing`).
        self.fence: Callable[[], None] | None = None

    @abstractmethod
    async def _commit(self, group: Group[PartT, PendingT]) -> None:
        """Make `group` durable and `_publish` it, or `_fail` it."""

    @abstractmethod
    async def _release(self) -> None:
        """Release files or connections; called once, after the final flush."""

    @property
    def partitions(self) -> int:
        """Number of partitions."""
        return len(self._parts)

    def append(self, partition: int, payload: bytes, timestamp_ms: int) -> AppendReceipt:
        """Assign the next offset of `partition` to `payload` and queue it for the next group commit."""
        part = self._partition(partition)
        if self._closing:
            raise LogClosedError(f"depot log {self._name} is closed")
        if self._failure is not None:
            raise self._failed_error()
        self.check_fence()  # refused before anything is queued
        loop = self._running_loop()
        future = loop.create_future()
        if not part.pending.futures:
            self._dirty.append(part)
        offset = part.append(payload, timestamp_ms, future)
        self._ensure_flusher(loop)
        return AppendReceipt(partition, offset, future)

    async def flush(self) -> None:
        """Wait until every record appended so far is durable; raise `LogFailedError` if one never will be."""
        loop = self._running_loop()
        targets = [part.end_offset for part in self._parts]
        while not all(part.durable_end >= target for part, target in zip(self._parts, targets, strict=True)):
            if self._failure is not None:
                raise self._failed_error()
            self._ensure_flusher(loop)
            waiter = loop.create_future()
            self._flush_waiters.append(waiter)
            await waiter

    def durable_end(self, partition: int) -> int:
        """One past the last durable offset of `partition` (0 when empty)."""
        return self._partition(partition).durable_end

    def end_offset(self, partition: int) -> int:
        """The offset the next append to `partition` gets (durable or not, everything so far is below)."""
        return self._partition(partition).end_offset

    def add_durable_listener(self, listener: DurableListener) -> None:
        """Call `listener(partition, durable_end)` each time a partition's durable end advances."""
        self._listeners.append(listener)

    async def close(self) -> None:
        """Flush what is pending, then release files or connections. Idempotent."""
        self._closing = True
        # No `finally`: a close that is cancelled (or called from the wrong loop) leaves the resources open
        # for the flush still running; calling close again finishes the job.
        with contextlib.suppress(LogFailedError):  # each failed append got the error through its future
            await self.flush()
        if not self._closed:
            self._closed = True
            await self._release()

    # -- for subclasses --------------------------------------------------------------------------------

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop appends and flushes run on (a subclass may move its state to it)."""
        return asyncio.get_running_loop()

    def _on_flusher_cancelled(self) -> None:
        """Called when the flusher is cancelled (a loop shutting down); nothing to do by default."""

    def _partition(self, partition: int) -> PartT:
        """Return partition `partition`, refusing indexes out of range (negative ones included)."""
        if not 0 <= partition < len(self._parts):
            raise IndexError(f"partition {partition} out of range for {len(self._parts)} partitions")
        return self._parts[partition]

    def _readable(self, partition: int, start: int) -> PartT:
        """Return the partition a read of offsets from `start` on may go to, or raise why not."""
        part = self._partition(partition)
        if self._closed:
            raise LogClosedError(f"depot log {self._name} is closed")
        if start < 0:
            raise ValueError(f"read offset must not be negative, got {start}")
        return part

    def _failed_error(self) -> LogFailedError:
        """The error later appends and flushes get once the log has failed."""
        error = LogFailedError(f"depot log {self._name} failed: {self._failure}")
        error.__cause__ = self._failure
        return error

    def _ensure_flusher(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the flusher unless one is running (a cancelled one that never ran does not count)."""
        if self._dirty and (self._flusher is None or self._flusher.done()):
            self._flusher = loop.create_task(self._run_flusher(), name=f"flush {self._name}")

    async def _run_flusher(self) -> None:
        """Commit groups until nothing is pending, then exit (the next append starts a new flusher)."""
        try:
            while self._dirty:
                group = self._take_group()
                if not self._fenced(group):
                    await self._commit(group)
                self._wake_flush_waiters()
        except asyncio.CancelledError:
            self._on_flusher_cancelled()
            raise
        finally:
            self._flusher = None
            self._wake_flush_waiters()

    def _take_group(self) -> Group[PartT, PendingT]:
        """Take every partition's pending records as one group."""
        group = [(part, part.take_pending()) for part in self._dirty]
        self._dirty = []
        return group

    def check_fence(self) -> None:
        """Raise what the fence raises, if one is set and refuses now (subclasses call it before sending)."""
        if self.fence is not None:
            self.fence()

    def _fenced(self, group: Group[PartT, PendingT]) -> bool:
        """Fail `group` (and stop the log) if the fence refuses it now; tell whether it did."""
        try:
            self.check_fence()
        except Exception as exc:  # queued before a pause, to be produced after it: refuse, the offsets are void
            self._fail(group, fenced_group_error(self._name, exc))
            return True
        return False

    def _fail_if_failed(self, group: Group[PartT, PendingT]) -> bool:
        """Fail `group` at once if the log has already failed; tell whether it did."""
        if self._failure is None:
            return False
        self._fail(group, self._failed_error())
        return True

    def _publish(self, group: Group[PartT, PendingT]) -> None:
        """Advance durable ends, resolve the group's futures, then tell the listeners."""
        for part, pending in group:
            part.publish(pending)
        for part, _ in group:
            self._notify(part.index, part.durable_end)

    def _notify(self, partition: int, durable_end: int) -> None:
        """Call every durable listener; one that raises must not stop the others or the log."""
        for listener in self._listeners:
            try:
                listener(partition, durable_end)
            except Exception:
                _log.exception("durable listener %r failed for partition %d", listener, partition)

    def _fail(self, group: Group[PartT, PendingT], error: BaseException) -> None:
        """Fail every future of `group` with `error` and stop the log: the offsets assigned after it are void.

        A failed append is "maybe appended", as after a timeout: the storage may hold it all the same.
        """
        if self._failure is None:
            self._failure = error
            _log.error("depot log %s failed; appends now raise until it is reopened", self._name, exc_info=error)
        for _, pending in group:
            fail_futures(pending.futures, error)

    def _wake_flush_waiters(self) -> None:
        """Let every waiting `flush` re-check its targets."""
        waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


def fenced_group_error(name: str, cause: BaseException) -> LogFailedError:
    """The error a group refused by the fence fails with: "maybe appended", never the fence's own "not owner".

    The fence's error may tell a client to retry elsewhere; a group already accepted must not, since a part of
    it may have been produced before the fence closed (an earlier request of the same group).
    """
    error = LogFailedError(f"depot log {name}: fenced ({cause}); the group may or may not be in the log")
    error.__cause__ = cause
    return error


def fail_futures(futures: Iterable[asyncio.Future[None]], error: BaseException) -> None:
    """Fail each still-waiting future with `error`."""
    for future in futures:
        if not future.done():
            future.set_exception(error)
            # Mark it retrieved: the log already logged the failure once, and a fire-and-forget append
            # should not add an "exception never retrieved" report per record. An awaiter still gets it.
            future.exception()
