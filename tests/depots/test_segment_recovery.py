"""Reopening a segment log: torn tails are truncated, damage and layout changes are refused."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from depots.errors import CorruptLogError, LogInUseError, LogLayoutError
from depots.log import LogEntry
from depots.segment_files import HEADER_BYTES
from depots.segment_log import SegmentLog
from tests.depots.support import (
    append_many,
    expected_entry,
    flip_byte,
    frame_start,
    open_log,
    segment_files,
)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "depot"


def write_records(directory: Path, count: int, partitions: int = 1, segment_bytes: int = 64 << 20) -> None:
    """Append `count` records to partition 0 in groups of 5, then close the log."""

    async def scenario() -> None:
        log = open_log(directory, partitions, segment_bytes=segment_bytes)
        for _ in range(count // 5):
            append_many(log, 0, 5)
            await log.flush()
        await log.close()

    asyncio.run(scenario())


def reopen_and_read(directory: Path, partitions: int = 1) -> list[LogEntry]:
    """Reopen the log and return every durable entry of partition 0."""

    async def scenario() -> list[LogEntry]:
        log = open_log(directory, partitions)
        entries = await log.read(0, 0, 1_000_000)
        assert log.end_offset(0) == len(entries)
        await log.close()
        return entries

    return asyncio.run(scenario())


def entries_up_to(count: int) -> list[LogEntry]:
    return [expected_entry(0, offset) for offset in range(count)]


def test_truncated_last_frame_is_cut_away(directory: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_records(directory, 10)
    [segment] = segment_files(directory)
    os.truncate(segment, segment.stat().st_size - 3)
    assert reopen_and_read(directory) == entries_up_to(9)
    assert segment.stat().st_size == frame_start(0, 9)
    assert "torn tail" in caplog.text


def test_truncated_header_is_cut_away(directory: Path) -> None:
    write_records(directory, 10)
    [segment] = segment_files(directory)
    os.truncate(segment, frame_start(0, 9) + HEADER_BYTES - 1)
    assert reopen_and_read(directory) == entries_up_to(9)


def test_crc_mismatch_in_the_last_frame_is_cut_away(directory: Path) -> None:
    write_records(directory, 10)
    [segment] = segment_files(directory)
    flip_byte(segment, segment.stat().st_size - 1)
    assert reopen_and_read(directory) == entries_up_to(9)


def test_zero_filled_tail_is_cut_away(directory: Path) -> None:
    write_records(directory, 10)
    [segment] = segment_files(directory)
    with segment.open("ab") as file:
        file.write(bytes(4096))  # blocks a crash allocated but never filled
    assert reopen_and_read(directory) == entries_up_to(10)


def test_appends_continue_after_a_cut_tail(directory: Path) -> None:
    write_records(directory, 10)
    [segment] = segment_files(directory)
    os.truncate(segment, segment.stat().st_size - 1)
    write_records(directory, 5)  # offsets 9..13, written where the torn record was
    assert reopen_and_read(directory) == entries_up_to(14)


def test_crc_mismatch_before_valid_frames_is_corruption(directory: Path) -> None:
    write_records(directory, 10)
    [segment] = segment_files(directory)
    flip_byte(segment, frame_start(0, 5) + HEADER_BYTES)  # first payload byte of offset 5
    with pytest.raises(CorruptLogError, match=f"{segment}: bad frame at byte {frame_start(0, 5)}"):
        SegmentLog.open(directory, 1)
    assert segment.stat().st_size == frame_start(0, 10)  # nothing was cut


def test_damage_in_a_sealed_segment_is_corruption(directory: Path) -> None:
    write_records(directory, 20, segment_bytes=100)
    first, *later = segment_files(directory)
    assert later
    flip_byte(first, first.stat().st_size - 1)
    with pytest.raises(CorruptLogError, match="followed by later ones"):
        SegmentLog.open(directory, 1)


def test_a_missing_segment_is_corruption(directory: Path) -> None:
    write_records(directory, 20, segment_bytes=100)
    segment_files(directory)[1].unlink()
    with pytest.raises(CorruptLogError, match="a segment is missing"):
        SegmentLog.open(directory, 1)


def test_a_missing_partition_directory_is_corruption(directory: Path) -> None:
    write_records(directory, 5, partitions=2)
    for segment in segment_files(directory, 1):
        segment.unlink()
    (directory / "p0001").rmdir()
    for _ in range(2):  # a failed open releases the directory lock and partition 0's file
        with pytest.raises(CorruptLogError, match="p0001 is missing"):
            SegmentLog.open(directory, 2)


def test_damage_found_by_a_disk_read_raises(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, cache_entries=0)
        append_many(log, 0, 10)
        await log.flush()
        flip_byte(segment_files(directory)[0], frame_start(0, 3) + HEADER_BYTES)
        assert await log.read(0, 0, 3) == entries_up_to(3)
        with pytest.raises(CorruptLogError, match=r"CRC mismatch in the record at byte \d+ \(offset 3\)"):
            await log.read(0, 0, 10)
        await log.close()

    asyncio.run(scenario())


def test_a_file_shorter_than_its_index_raises_on_read(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, cache_entries=0)
        append_many(log, 0, 10)
        await log.flush()
        os.truncate(segment_files(directory)[0], frame_start(0, 8))
        with pytest.raises(CorruptLogError, match="file ends at byte"):
            await log.read(0, 5, 5)
        await log.close()

    asyncio.run(scenario())


def test_reopening_with_another_partition_count_is_refused(directory: Path) -> None:
    write_records(directory, 5, partitions=4)
    with pytest.raises(LogLayoutError, match="created with 4 partitions, opened with 8"):
        SegmentLog.open(directory, 8)
    assert reopen_and_read(directory, partitions=4) == entries_up_to(5)


def test_another_format_version_is_refused(directory: Path) -> None:
    write_records(directory, 5)
    (directory / "depot.meta").write_text(json.dumps({"format": 99, "partitions": 1}))
    with pytest.raises(LogLayoutError, match="log format 99"):
        SegmentLog.open(directory, 1)


def test_unreadable_metadata_is_refused(directory: Path) -> None:
    write_records(directory, 5)
    (directory / "depot.meta").write_text("{")
    with pytest.raises(LogLayoutError, match="unreadable"):
        SegmentLog.open(directory, 1)


def test_segments_without_metadata_are_refused(directory: Path) -> None:
    write_records(directory, 5)
    (directory / "depot.meta").unlink()
    with pytest.raises(LogLayoutError, match="holds segments but no depot\\.meta"):
        SegmentLog.open(directory, 1)


def test_a_creation_cut_short_is_completed_on_the_next_open(directory: Path) -> None:
    for index in range(3):  # a crash before depot.meta was written leaves empty partition directories
        (directory / f"p{index:04d}").mkdir(parents=True)
    write_records(directory, 5, partitions=3)
    assert reopen_and_read(directory, partitions=3) == entries_up_to(5)


def test_a_directory_is_open_in_one_log_at_a_time(directory: Path) -> None:
    log = SegmentLog.open(directory, 1)
    with pytest.raises(LogInUseError, match="already open"):
        SegmentLog.open(directory, 1)
    asyncio.run(log.close())
    asyncio.run(SegmentLog.open(directory, 1).close())


def test_an_empty_log_reopens_empty(directory: Path) -> None:
    asyncio.run(SegmentLog.open(directory, 2).close())
    assert reopen_and_read(directory, partitions=2) == []
    assert json.loads((directory / "depot.meta").read_text()) == {"format": 1, "partitions": 2}
