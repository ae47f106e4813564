"""The segment log's files: frame format, reads and writes, directory layout and recovery.

Layout of a log directory::

    depot.meta                      {"format": 1, "partitions": N}, written once at creation
    .lock                           flock'd while a SegmentLog has the directory open
    p0000/00000000000000000000.seg  partition 0, first segment, named by the offset of its first record
    p0000/00000000000000041327.seg  the next segment, started once the previous one reached segment_bytes

A segment is a run of frames ``[u32 payload length][u32 crc32][u64 timestamp_ms][payload]``, big-endian,
the CRC (zlib.crc32) covering timestamp and payload. Offsets are record ordinals per partition, from 0.

Recovery relies on two invariants of `depots.segment_log.SegmentLog`:

* A group commit writes each partition's share of the group to one file, so a segment is started only at a
  group boundary, after the previous segment's last group finished (including its fsync). A torn tail can
  therefore only be in a partition's last file.
* A record is acknowledged only after its whole group is written (and fsynced under
  `FsyncPolicy.ALWAYS`), so a torn tail only ever holds unacknowledged records, and recovery truncates it.
  A bad frame followed by a valid one is not a torn tail but damage: `CorruptLogError`.
"""

from __future__ import annotations

import bisect
import fcntl
import json
import logging
import os
import struct
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

from depots.errors import CorruptLogError, LogInUseError, LogLayoutError
from depots.log import LogEntry

_log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_FILE = "depot.meta"
LOCK_FILE = ".lock"
SEGMENT_SUFFIX = ".seg"

_HEADER = struct.Struct(">IIQ")
_LENGTH_CRC = struct.Struct(">II")
_TIMESTAMP = struct.Struct(">Q")
HEADER_BYTES = _HEADER.size
# The CRC covers the frame from the timestamp on.
_CRC_FROM = _LENGTH_CRC.size
# A disk read fetches at most this many bytes per pread (plus one record), so a catch-up read of a
# large batch does not hold one huge buffer next to the entries parsed from it.
READ_CHUNK_BYTES = 4 << 20


@dataclass(slots=True, eq=False)
class Segment:
    """One segment file: its first offset and the file position of each of its records."""

    base: int
    path: Path
    positions: array[int]
    size: int
    # Open only for a partition's last (active) segment; sealed segments are opened per read, so the
    # number of open files stays at one per partition however long the log grows.
    fd: int | None = None

    @property
    def end(self) -> int:
        """Offset one past the segment's last written record."""
        return self.base + len(self.positions)

    def close(self) -> None:
        """Close the segment's file if it is open."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def create_segment(directory: Path, base: int) -> Segment:
    """Create an empty segment file for records from offset `base` on, open for writing."""
    path = directory / _segment_name(base)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    return Segment(base, path, array("Q"), 0, fd)


def frame_header(payload: bytes, timestamp_ms: int) -> tuple[bytes, bytes]:
    """Return the (length + CRC, timestamp) parts of a frame's header."""
    try:
        stamp = _TIMESTAMP.pack(timestamp_ms)
        return _LENGTH_CRC.pack(len(payload), zlib.crc32(payload, zlib.crc32(stamp))), stamp
    except struct.error:
        raise ValueError(
            f"timestamp_ms {timestamp_ms} must fit in u64 and the payload ({len(payload)} bytes) in u32"
        ) from None


def read_chunk(segment: Segment, start: int, stop: int, out: list[LogEntry]) -> int:
    """Append entries from `start` to at most `stop` of `segment`, read with one pread; return the next."""
    positions = segment.positions
    first = start - segment.base
    begin = positions[first]
    # Records starting within READ_CHUNK_BYTES of `begin`, at least one.
    after = bisect.bisect_right(positions, begin + READ_CHUNK_BYTES, first + 1, stop - segment.base)
    end = positions[after] if after < len(positions) else segment.size
    data = _pread_segment(segment, end - begin, begin)
    _parse_frames(data, start, after - first, out, segment.path, begin)
    return segment.base + after


def _parse_frames(data: bytes, offset: int, count: int, out: list[LogEntry], path: Path, at: int) -> None:
    """Parse `count` frames from `data` (read at file position `at`), checking each CRC."""
    view = memoryview(data)
    unpack = _HEADER.unpack_from
    crc32 = zlib.crc32
    pos = 0
    for index in range(offset, offset + count):
        length, crc, timestamp_ms = unpack(data, pos)
        end = pos + HEADER_BYTES + length
        if crc32(view[pos + _CRC_FROM : end]) != crc:
            raise CorruptLogError(f"{path}: CRC mismatch in the record at byte {at + pos} (offset {index})")
        out.append(LogEntry(index, timestamp_ms, data[pos + HEADER_BYTES : end]))
        pos = end


def _pread_segment(segment: Segment, size: int, position: int) -> bytes:
    """Read `size` bytes of a segment, opening a sealed one just for this read."""
    if segment.fd is not None:
        return _pread_exact(segment.fd, size, position, segment.path)
    fd = os.open(segment.path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return _pread_exact(fd, size, position, segment.path)
    finally:
        os.close(fd)


def _pread_exact(fd: int, size: int, position: int, path: Path) -> bytes:
    """Read exactly `size` bytes at `position`; a shorter file than the index says is corrupt."""
    data = os.pread(fd, size, position)
    while len(data) < size:
        more = os.pread(fd, size - len(data), position + len(data))
        if not more:
            raise CorruptLogError(f"{path}: file ends at byte {position + len(data)}, its index says later")
        data += more
    return data


def pwrite_all(fd: int, data: bytearray, position: int) -> None:
    """Write all of `data` at `position` (pwrite may write less than asked)."""
    with memoryview(data) as view:
        written = 0
        while written < len(view):
            written += os.pwrite(fd, view[written:], position + written)


def lock_directory(directory: Path) -> int:
    """Take the directory's exclusive lock, so two logs never append to the same files."""
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LogInUseError(f"depot log {directory} is already open; close the other log first") from None
    return fd


def ensure_layout(directory: Path, partitions: int) -> None:
    """Check the directory's metadata against `partitions`, creating the layout on first open."""
    meta = directory / META_FILE
    if meta.exists():
        _check_meta(meta, partitions)
        return
    # Empty partition directories are what a crash during creation leaves; segments are a real log.
    if any(directory.glob("p[0-9][0-9][0-9][0-9]/*" + SEGMENT_SUFFIX)):
        raise LogLayoutError(f"{directory} holds segments but no {META_FILE}")
    for index in range(partitions):
        (directory / partition_name(index)).mkdir(exist_ok=True)
    # The metadata goes last and atomically: its presence means the layout is complete.
    temporary = meta.with_suffix(".tmp")
    temporary.write_text(json.dumps({"format": FORMAT_VERSION, "partitions": partitions}))
    _fsync_path(temporary)
    temporary.replace(meta)
    fsync_directory(directory)


def _check_meta(meta: Path, partitions: int) -> None:
    """Refuse a log written in another format or with another partition count."""
    try:
        fields = json.loads(meta.read_text())
        version, created = int(fields["format"]), int(fields["partitions"])
    except (ValueError, KeyError, TypeError) as exc:
        raise LogLayoutError(f"{meta} is unreadable: {exc}") from exc
    if version != FORMAT_VERSION:
        raise LogLayoutError(f"{meta}: log format {version}, this version reads format {FORMAT_VERSION}")
    if created != partitions:
        raise LogLayoutError(
            f"{meta.parent} was created with {created} partitions, opened with {partitions}; "
            "a depot's partition count cannot change"
        )


def recover_partitions(directory: Path, partitions: int) -> list[list[Segment]]:
    """Recover every partition's segments, closing those already opened if one partition fails."""
    recovered: list[list[Segment]] = []
    try:
        for index in range(partitions):
            recovered.append(_recover_segments(directory / partition_name(index)))
    except BaseException:
        for segment in (segment for segments in recovered for segment in segments):
            segment.close()
        raise
    return recovered


def _recover_segments(directory: Path) -> list[Segment]:
    """Index a partition's segments in offset order and open the last one for appending."""
    if not directory.is_dir():
        raise CorruptLogError(f"{directory} is missing")
    paths = sorted(directory.glob("*" + SEGMENT_SUFFIX))
    segments: list[Segment] = []
    for number, path in enumerate(paths):
        base = int(path.stem)
        expected = segments[-1].end if segments else 0
        if base != expected:
            raise CorruptLogError(f"{path} starts at offset {base}, expected {expected} (a segment is missing)")
        positions, size = _scan_segment(path, torn_tail_allowed=number == len(paths) - 1)
        segments.append(Segment(base, path, positions, size))
    if segments:
        segments[-1].fd = os.open(segments[-1].path, os.O_RDWR | os.O_CLOEXEC)
    return segments


def _scan_segment(path: Path, torn_tail_allowed: bool) -> tuple[array[int], int]:
    """Index a segment's frames, truncating a torn tail; return (positions, valid size)."""
    data = path.read_bytes()
    view = memoryview(data)
    positions = array("Q")
    pos = 0
    while (end := _frame_end(data, view, pos)) is not None:
        positions.append(pos)
        pos = end
    if pos < len(data):
        if not torn_tail_allowed:
            raise CorruptLogError(f"{path}: bad frame at byte {pos} in a segment followed by later ones")
        if _valid_frame_follows(data, view, pos):
            raise CorruptLogError(f"{path}: bad frame at byte {pos} followed by a valid one")
        _log.warning(
            "%s: truncating a torn tail of %d bytes at byte %d (unacknowledged records)",
            path,
            len(data) - pos,
            pos,
        )
        os.truncate(path, pos)
        _fsync_path(path)
    return positions, pos


def _frame_end(data: bytes, view: memoryview, pos: int) -> int | None:
    """Return where the frame at `pos` ends, or None if it is truncated, fails its CRC or is absent."""
    if len(data) - pos < HEADER_BYTES:
        return None
    length, crc, _ = _HEADER.unpack_from(data, pos)
    end: int = pos + HEADER_BYTES + length
    if end > len(data) or zlib.crc32(view[pos + _CRC_FROM : end]) != crc:
        return None
    return end


def _valid_frame_follows(data: bytes, view: memoryview, pos: int) -> bool:
    """Tell damage from a torn tail: does the bad frame's length lead to a valid frame?

    A zero-filled header is space the filesystem allocated but a torn write never filled, so it is tail.
    """
    if len(data) - pos < HEADER_BYTES:
        return False
    length, crc, timestamp_ms = _HEADER.unpack_from(data, pos)
    if length == crc == timestamp_ms == 0:
        return False
    return _frame_end(data, view, pos + HEADER_BYTES + length) is not None


def partition_name(index: int) -> str:
    """Name a partition's directory."""
    return f"p{index:04d}"


def _segment_name(base: int) -> str:
    """Name a segment file by the offset of its first record."""
    return f"{base:020d}{SEGMENT_SUFFIX}"


def _fsync_path(path: Path) -> None:
    """Fsync one file by path."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Fsync a directory, making the entries created in it durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
