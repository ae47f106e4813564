"""The embedded depot log: per-partition segment files with a CRC per record, and group commit.

The file format, layout and recovery live in `depots.segment_files`; offsets, pending groups, the flusher and
the cache of recent durable entries in `depots.group_commit`; this module writes and syncs the groups.
"""

from __future__ import annotations

import asyncio
import bisect
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from depots.group_commit import CacheLimits, GroupCommitLog, GroupPartition, PendingGroup
from depots.log import FsyncPolicy, LogEntry
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


@dataclass(slots=True, eq=False)
class _Pending(PendingGroup):
    """A pending group plus its records already framed for the file: one buffer, and where each frame starts."""

    frames: bytearray = field(default_factory=bytearray)
    starts: array[int] = field(default_factory=lambda: array("Q"))


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


class _Partition(GroupPartition[_Pending]):
    """One partition: its segments and index, the pending group, and the cache of recent entries."""

    def __init__(self, index: int, directory: Path, segments: list[Segment], cache_limits: CacheLimits) -> None:
        super().__init__(index, segments[-1].end if segments else 0, cache_limits)
        self.directory = directory
        self.segments = segments
        self.bases = [segment.base for segment in segments]
        # Invariant: the cache is always the newest durable entries, [cache.base, durable_end).

    def new_pending(self, base: int) -> _Pending:
        """Return an empty pending group starting at `base`."""
        return _Pending(base)

    def append(self, payload: bytes, timestamp_ms: int, future: asyncio.Future[None]) -> int:
        """Frame `payload` into the pending group and return its offset."""
        length_crc, stamp = frame_header(payload, timestamp_ms)
        pending = self.pending
        frames = pending.frames
        pending.starts.append(len(frames))
        frames += length_crc
        frames += stamp
        frames += payload
        return super().append(payload, timestamp_ms, future)

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

    def read(self, start: int, stop: int) -> list[LogEntry]:
        """Entries [start, stop) of the durable log: from the cache when it covers them, else from disk."""
        cache_base = self.cache.base
        if start >= cache_base:
            return self.cache.slice(start, stop)
        entries = self._read_disk(start, min(stop, cache_base))
        if stop > cache_base:
            entries += self.cache.slice(cache_base, stop)
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

    def _read_disk(self, start: int, stop: int) -> list[LogEntry]:
        """Read entries [start, stop) from the segment files, one pread per chunk."""
        entries: list[LogEntry] = []
        while start < stop:
            segment = self.segments[bisect.bisect_right(self.bases, start) - 1]
            start = read_chunk(segment, start, min(stop, segment.end), entries)
        return entries


class SegmentLog(GroupCommitLog[_Partition, _Pending]):
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
    ) -> None:
        super().__init__(str(directory), partitions)
        self._directory = directory
        self._lock_fd: int | None = lock_fd
        self._fsync = fsync
        self._segment_bytes = segment_bytes
        self._loop: asyncio.AbstractEventLoop | None = None

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
        limits = CacheLimits(cache_entries, cache_bytes)
        parts = [
            _Partition(index, directory / partition_name(index), segments, limits)
            for index, segments in enumerate(recovered)
        ]
        return cls(directory, parts, lock_fd, fsync, segment_bytes)

    @property
    def directory(self) -> Path:
        """The log's directory."""
        return self._directory

    async def read(self, partition: int, start: int, max_records: int) -> list[LogEntry]:
        """Up to `max_records` durable entries of `partition` from offset `start` on, in order.

        Returns exactly min(max_records, durable_end - start) entries: a short read means the reader
        reached the durable end. Recent entries come from memory; older ones from disk with a CRC check.
        """
        part = self._readable(partition, start)
        stop = min(start + max_records, part.durable_end)
        return part.read(start, stop) if stop > start else []

    def _running_loop(self) -> asyncio.AbstractEventLoop:
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

    def _on_flusher_cancelled(self) -> None:
        """Commit everything here, so the files and the in-memory index agree and another loop can go on."""
        # Cancelled by a loop shutdown, typically.
        self._drain_inline()

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
        if self._fail_if_failed(group):
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

    async def _release(self) -> None:
        """Close every file and the directory lock."""
        for part in self._parts:
            part.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None
