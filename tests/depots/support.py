"""Helpers shared by the depot log tests: open a log, build payloads, damage files."""

from __future__ import annotations

from pathlib import Path

from depots.log import AppendReceipt, FsyncPolicy, LogEntry
from depots.segment_files import HEADER_BYTES
from depots.segment_log import SegmentLog

TIMESTAMP_MS = 1_700_000_000_000


def payload(partition: int, offset: int) -> bytes:
    """Return a distinct payload whose length varies with the offset."""
    return f"p{partition}-o{offset}-".encode() + b"x" * (offset % 7)


def expected_entry(partition: int, offset: int) -> LogEntry:
    """Return the entry `append_many` stores at (partition, offset)."""
    return LogEntry(offset, TIMESTAMP_MS + offset, payload(partition, offset))


def append_many(log: SegmentLog, partition: int, count: int) -> list[AppendReceipt]:
    """Append `count` records after the partition's current end, without waiting."""
    start = log.end_offset(partition)
    return [
        log.append(partition, payload(partition, offset), TIMESTAMP_MS + offset)
        for offset in range(start, start + count)
    ]


def open_log(
    directory: Path,
    partitions: int = 1,
    *,
    fsync: FsyncPolicy = FsyncPolicy.ALWAYS,
    segment_bytes: int = 64 << 20,
    cache_entries: int = 65_536,
    cache_bytes: int = 32 << 20,
) -> SegmentLog:
    """Open a log with the test defaults."""
    return SegmentLog.open(
        directory,
        partitions,
        fsync=fsync,
        segment_bytes=segment_bytes,
        cache_entries=cache_entries,
        cache_bytes=cache_bytes,
    )


def segment_files(directory: Path, partition: int = 0) -> list[Path]:
    """Return a partition's segment files in offset order."""
    return sorted((directory / f"p{partition:04d}").glob("*.seg"))


def frame_start(partition: int, offset: int) -> int:
    """Return the byte position of a record in a single-segment partition written by `append_many`."""
    return sum(HEADER_BYTES + len(payload(partition, earlier)) for earlier in range(offset))


def flip_byte(path: Path, position: int) -> None:
    """Invert one byte of a file in place."""
    data = bytearray(path.read_bytes())
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))
