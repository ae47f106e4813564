"""The embedded depot log: per-partition segment files with a CRC per record, and group commit.

The file format, layout and recovery live in `depots.segment_files`; this module keeps the in-memory side:
offsets, the pending group of each partition, the flusher, and the cache of recent durable entries.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from depots.errors import LogClosedError, LogFailedError
from depots.log import AppendReceipt, DepotLog, DurableListener, FsyncPolicy, LogEntry
from depots.segment_files import (
    Segment,
    create_segment,
    ensure_layout,
    frame_header,
    fsync_directory,
    lock_directory,
    partition_name,
    pwrite_all,
    read_chunk,
    recover_partitions,
)

_log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class _Pending:
    """Records appended to one partition since the flusher last took its group."""

    frames: bytearray = field(default_factory=bytearray)
    starts: array[int] = field(default_factory=lambda: array("Q"))
    entries: list[LogEntry] = field(default_factory=list)
    futures: list[asyncio.Future[None]] = field(default_factory=list)
    payload_bytes: int = 0


@dataclass(frozen=True, slots=True)
class _CacheLimits:
    """Bounds of the per-partition cache of the most recent durable entries."""

    entries: int
    payload_bytes: int


@dataclass(slots=True, eq=False)
class _SyncJob:
    """The fsyncs that make one group durable: every file written, and directories that gained one."""

    fds: list[int] = field(default_factory=list)
    directories: list[Path] = field(default_factory=list)

    def run(self) -> None:
        """Fsync every file, then the directories whose new entries must survive a power loss."""
        for fd in self.fds:
            os.fsync(fd)
        for directory in self.directories:
            fsync_directory(directory)


class _Partition:
    """One partition: its segments and index, the pending group, and the cache of recent entries."""

    def __init__(self, index: int, directory: Path, segments: list[Segment]) -> None:
        self.index = index
        self.directory = directory
        self.segments = segments
        self.bases = [segment.base for segment in segments]
        self.end_offset = segments[-1].end if segments else 0
        self.durable_end = self.end_offset
        self.pending = _Pending()
        # The cache is always the newest durable entries: it covers [cache_base, durable_end).
        self.cache: list[LogEntry] = []
        self.cache_base = self.durable_end
        self.cache_bytes = 0

    def append(self, payload: bytes, timestamp_ms: int, future: asyncio.Future[None]) -> int:
        """Frame `payload` into the pending group and return its offset."""
        length_crc, stamp = frame_header(payload, timestamp_ms)
        pending = self.pending
        frames = pending.frames
        pending.starts.append(len(frames))
        frames += length_crc
        frames += stamp
        frames += payload
        offset = self.end_offset
        self.end_offset = offset + 1
        pending.entries.append(LogEntry(offset, timestamp_ms, payload))
        pending.futures.append(future)
        pending.payload_bytes += len(payload)
        return offset

    def take_pending(self) -> _Pending:
        """Hand the pending group to the flusher and start a new one."""
        pending, self.pending = self.pending, _Pending()
        return pending

    def write(self, group: _Pending, segment_bytes: int, job: _SyncJob) -> None:
        """Write `group` with one pwrite to the active segment, starting a new one if it is full."""
        segment = self.segments[-1] if self.segments else None
        if segment is None or segment.size >= segment_bytes:
            segment = self._start_segment()
            job.directories.append(self.directory)
        assert segment.fd is not None
        pwrite_all(segment.fd, group.frames, segment.size)
        segment.positions.extend(map(segment.size.__add__, group.starts))
        segment.size += len(group.frames)
        job.fds.append(segment.fd)

    def publish(self, group: _Pending, limits: _CacheLimits) -> None:
        """Mark a written (and synced) group durable: resolve its futures and cache its entries."""
        self.durable_end += len(group.entries)
        for future in group.futures:
            if not future.done():  # an appender may have cancelled its wait
                future.set_result(None)
        self.cache += group.entries
        self.cache_bytes += group.payload_bytes
        if len(self.cache) > limits.entries or self.cache_bytes > limits.payload_bytes:
            self._trim_cache(limits)

    def read(self, start: int, stop: int) -> list[LogEntry]:
        """Entries [start, stop) of the durable log: from the cache when it covers them, else from disk."""
        cache_base = self.cache_base
        if start >= cache_base:
            return self.cache[start - cache_base : stop - cache_base]
        entries = self._read_disk(start, min(stop, cache_base))
        if stop > cache_base:
            entries += self.cache[: stop - cache_base]
        return entries

    def close(self) -> None:
        """Close the active segment's file."""
        if self.segments:
            self.segments[-1].close()

    def _start_segment(self) -> Segment:
        """Seal the active segment (its last group is already synced) and create the next one."""
        base = self.segments[-1].end if self.segments else 0
        self.close()
        segment = create_segment(self.directory, base)
        self.segments.append(segment)
        self.bases.append(base)
        return segment

    def _trim_cache(self, limits: _CacheLimits) -> None:
        """Evict the oldest cached entries down to 3/4 of the limits, so eviction is amortized."""
        cache = self.cache
        drop = max(0, len(cache) - limits.entries * 3 // 4)
        dropped_bytes = sum(len(entry.payload) for entry in cache[:drop])
        keep_bytes = limits.payload_bytes * 3 // 4
        while drop < len(cache) and self.cache_bytes - dropped_bytes > keep_bytes:
            dropped_bytes += len(cache[drop].payload)
            drop += 1
        del cache[:drop]
        self.cache_base += drop
        self.cache_bytes -= dropped_bytes

    def _read_disk(self, start: int, stop: int) -> list[LogEntry]:
        """Read entries [start, stop) from the segment files, one pread per chunk."""
        entries: list[LogEntry] = []
        while start < stop:
            segment = self.segments[bisect.bisect_right(self.bases, start) - 1]
            start = read_chunk(segment, start, min(stop, segment.end), entries)
        return entries


class SegmentLog(DepotLog):
    """A depot log in local segment files, with group commit.

    `append` is synchronous: it frames the record into its partition's pending buffer and returns at
    once. One flusher task per log takes everything pending as a group, writes each partition's share with
    one write, syncs as the policy says, then resolves the group's futures. While a group syncs (in a
    thread), the event loop keeps accepting appends, which form the next group.

    Fsync policy (what an acknowledged append, i.e. a resolved `durable` future, survives):

    * `FsyncPolicy.ALWAYS` (default): each group ends with fsync of every file it wrote, and of the
      partition directory when it started a segment. Survives a process crash, a kernel crash and a power
      loss (given a disk that honours flushes).
    * `FsyncPolicy.NEVER`: acknowledged once written to the OS page cache. Survives a process crash
      (SIGKILL, OOM kill) since the kernel still writes the pages out; a kernel crash or power loss loses
      what the kernel had not written back yet (up to ~30 s by default) and recovery truncates the torn tail.

    A failed write or fsync fails the futures of its group with the `OSError` and stops the log: later
    appends raise `LogFailedError`, because after a failed fsync the kernel may have dropped the dirty
    pages and nothing after them can be trusted. Records of a failed group may still be on disk after a
    reopen (a failed append is "maybe appended", as after a timeout).

    A log is bound to one event loop at a time; it can move to another only when nothing is pending.
    """

    def __init__(
        self,
        directory: Path,
        partitions: list[_Partition],
        lock_fd: int,
        fsync: FsyncPolicy,
        segment_bytes: int,
        cache_limits: _CacheLimits,
    ) -> None:
        self._directory = directory
        self._parts = partitions
        self._lock_fd: int | None = lock_fd
        self._fsync = fsync
        self._segment_bytes = segment_bytes
        self._cache_limits = cache_limits
        self._listeners: list[DurableListener] = []
        self._dirty: list[_Partition] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._failure: OSError | None = None
        self._closing = False
        self._closed = False

    @classmethod
    def open(
        cls,
        directory: Path,
        partitions: int,
        *,
        fsync: FsyncPolicy = FsyncPolicy.ALWAYS,
        segment_bytes: int = 64 << 20,
        cache_entries: int = 65_536,
        cache_bytes: int = 32 << 20,
    ) -> SegmentLog:
        """Open (creating if needed) the log in `directory`, recovering each partition from its files."""
        if partitions < 1 or segment_bytes < 1 or cache_entries < 0 or cache_bytes < 0:
            raise ValueError("partitions and segment_bytes must be positive, cache limits not negative")
        directory.mkdir(parents=True, exist_ok=True)
        lock_fd = lock_directory(directory)
        try:
            ensure_layout(directory, partitions)
            recovered = recover_partitions(directory, partitions)
        except BaseException:
            os.close(lock_fd)
            raise
        parts = [
            _Partition(index, directory / partition_name(index), segments) for index, segments in enumerate(recovered)
        ]
        limits = _CacheLimits(cache_entries, cache_bytes)
        return cls(directory, parts, lock_fd, fsync, segment_bytes, limits)

    @property
    def partitions(self) -> int:
        """Number of partitions."""
        return len(self._parts)

    @property
    def directory(self) -> Path:
        """The log's directory."""
        return self._directory

    def append(self, partition: int, payload: bytes, timestamp_ms: int) -> AppendReceipt:
        """Assign the next offset of `partition` to `payload` and queue it for the next group commit."""
        part = self._partition(partition)
        if self._closing:
            raise LogClosedError(f"depot log {self._directory} is closed")
        if self._failure is not None:
            raise LogFailedError(f"depot log {self._directory} failed: {self._failure}") from self._failure
        loop = self._use_running_loop()
        future = loop.create_future()
        if not part.pending.futures:
            self._dirty.append(part)
        offset = part.append(payload, timestamp_ms, future)
        self._ensure_flusher(loop)
        return AppendReceipt(partition, offset, future)

    async def flush(self) -> None:
        """Wait until every record appended so far is durable; raise `LogFailedError` if one never will be."""
        loop = self._use_running_loop()
        targets = [part.end_offset for part in self._parts]
        while not self._reached(targets):
            if self._failure is not None:
                raise LogFailedError(f"depot log {self._directory} failed: {self._failure}")
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

    async def read(self, partition: int, start: int, max_records: int) -> list[LogEntry]:
        """Up to `max_records` durable entries of `partition` from offset `start` on, in order.

        Returns exactly min(max_records, durable_end - start) entries: a short read means the reader
        reached the durable end. Recent entries come from memory; older ones from disk with a CRC check.
        """
        part = self._partition(partition)
        if self._closed:
            raise LogClosedError(f"depot log {self._directory} is closed")
        if start < 0:
            raise ValueError(f"read offset must not be negative, got {start}")
        stop = min(start + max_records, part.durable_end)
        return part.read(start, stop) if stop > start else []

    def add_durable_listener(self, listener: DurableListener) -> None:
        """Call `listener(partition, durable_end)` each time a partition's durable end advances."""
        self._listeners.append(listener)

    async def close(self) -> None:
        """Flush what is pending, then release files. Idempotent."""
        self._closing = True
        # No `finally`: a close that is cancelled (or called from the wrong loop) leaves the files open
        # for the flush still running; calling close again finishes the job.
        with contextlib.suppress(LogFailedError):  # each failed append got the error through its future
            await self.flush()
        self._release()

    def _partition(self, partition: int) -> _Partition:
        """Return partition `partition`, refusing indexes out of range (negative ones included)."""
        if not 0 <= partition < len(self._parts):
            raise IndexError(f"partition {partition} out of range for {len(self._parts)} partitions")
        return self._parts[partition]

    def _use_running_loop(self) -> asyncio.AbstractEventLoop:
        """Return the running loop, moving the log to it if it was used from another loop before."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        return loop

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Move the log to `loop`; the old loop must be idle or finished."""
        if self._flusher is not None and not self._flusher.done():
            raise RuntimeError(f"depot log {self._directory} is flushing in another event loop; flush it there first")
        # A loop that cancelled its flusher before it ever ran leaves records pending: commit them here,
        # as their futures belong to the old loop.
        self._flusher = None
        self._drain_inline()
        self._loop = loop

    def _ensure_flusher(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the flusher unless one is running (a cancelled one that never ran does not count)."""
        if self._dirty and (self._flusher is None or self._flusher.done()):
            self._flusher = loop.create_task(self._run_flusher(), name=f"flush {self._directory}")

    def _reached(self, targets: list[int]) -> bool:
        """Tell whether every partition's durable end has reached its target."""
        return all(part.durable_end >= target for part, target in zip(self._parts, targets, strict=True))

    async def _run_flusher(self) -> None:
        """Commit groups until nothing is pending, then exit (the next append starts a new flusher)."""
        try:
            while self._dirty:
                await self._commit(self._take_group())
                self._wake_flush_waiters()
        except asyncio.CancelledError:
            # Cancelled by a loop shutdown, typically: commit everything here so the files and the
            # in-memory index agree, and the log can be used from another loop.
            self._drain_inline()
            raise
        finally:
            self._flusher = None
            self._wake_flush_waiters()

    def _take_group(self) -> list[tuple[_Partition, _Pending]]:
        """Take every partition's pending records as one group."""
        group = [(part, part.take_pending()) for part in self._dirty]
        self._dirty = []
        return group

    async def _commit(self, group: list[tuple[_Partition, _Pending]]) -> None:
        """Write a group, sync it in a thread as the policy says, then publish it."""
        job = self._write(group)
        if job is None:
            return
        if self._fsync is FsyncPolicy.ALWAYS:
            sync = asyncio.get_running_loop().run_in_executor(None, job.run)
            try:
                await sync
            except asyncio.CancelledError:
                self._sync_and_publish(group, job)
                raise
            except OSError as exc:
                self._fail(group, exc)
                return
        self._publish(group)

    def _write(self, group: list[tuple[_Partition, _Pending]]) -> _SyncJob | None:
        """Write each partition's share of the group; on failure fail the group and return None."""
        if self._failure is not None:
            self._fail(group, LogFailedError(f"depot log {self._directory} failed: {self._failure}"))
            return None
        job = _SyncJob()
        try:
            for part, pending in group:
                part.write(pending, self._segment_bytes, job)
        except OSError as exc:
            self._fail(group, exc)
            return None
        return job

    def _sync_and_publish(self, group: list[tuple[_Partition, _Pending]], job: _SyncJob) -> None:
        """Sync and publish a written group without awaiting (the loop is shutting down)."""
        try:
            job.run()
        except OSError as exc:
            self._fail(group, exc)
            return
        self._publish(group)

    def _drain_inline(self) -> None:
        """Commit everything pending without awaiting."""
        while self._dirty:
            group = self._take_group()
            job = self._write(group)
            if job is not None:
                self._sync_and_publish(group, job)

    def _publish(self, group: list[tuple[_Partition, _Pending]]) -> None:
        """Advance durable ends, resolve the group's futures, then tell the listeners."""
        for part, pending in group:
            part.publish(pending, self._cache_limits)
        for part, _ in group:
            self._notify(part.index, part.durable_end)

    def _notify(self, partition: int, durable_end: int) -> None:
        """Call every durable listener; one that raises must not stop the others or the log."""
        for listener in self._listeners:
            try:
                listener(partition, durable_end)
            except Exception:
                _log.exception("durable listener %r failed for partition %d", listener, partition)

    def _fail(self, group: list[tuple[_Partition, _Pending]], error: OSError) -> None:
        """Fail every future of `group` with `error` and stop the log."""
        if self._failure is None:
            self._failure = error
            _log.error("depot log %s failed; appends now raise until it is reopened", self._directory, exc_info=error)
        for _, pending in group:
            _fail_futures(pending.futures, error)

    def _wake_flush_waiters(self) -> None:
        """Let every waiting `flush` re-check its targets."""
        waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _release(self) -> None:
        """Close every file and the directory lock (once)."""
        if self._closed:
            return
        self._closed = True
        for part in self._parts:
            part.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None


def _fail_futures(futures: Iterable[asyncio.Future[None]], error: BaseException) -> None:
    """Fail each still-waiting future with `error`."""
    for future in futures:
        if not future.done():
            future.set_exception(error)
            # Mark it retrieved: the log already logged the failure once, and a fire-and-forget append
            # should not add an "exception never retrieved" report per record. An awaiter still gets it.
            future.exception()
