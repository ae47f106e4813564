"""The segment log: offsets, reads from cache and disk, group commit, durability and failures."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import depots.segment_files
from depots.errors import LogClosedError, LogFailedError
from depots.log import FsyncPolicy, LogEntry
from depots.segment_log import SegmentLog
from tests.depots.support import (
    TIMESTAMP_MS,
    append_many,
    expected_entry,
    open_log,
    payload,
    segment_files,
)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "depot"


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count fsync calls (from any thread) while still syncing for real."""
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    yield calls


async def read_all(log: SegmentLog, partition: int, start: int = 0) -> list[LogEntry]:
    """Read every durable entry of a partition in one call."""
    return await log.read(partition, start, log.durable_end(partition) + 1)


def test_round_trip_across_partitions_with_contiguous_offsets(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, partitions=3)
        receipts = [receipt for _ in range(4) for part in (2, 0, 1) for receipt in append_many(log, part, 5)]
        await log.flush()
        for part in range(3):
            offsets = [receipt.offset for receipt in receipts if receipt.partition == part]
            assert offsets == list(range(20))
            assert await read_all(log, part) == [expected_entry(part, offset) for offset in range(20)]
            assert log.durable_end(part) == log.end_offset(part) == 20
        assert all(receipt.durable.done() for receipt in receipts)
        await log.close()

    asyncio.run(scenario())


def test_read_returns_only_durable_records(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory)
        [receipt] = append_many(log, 0, 1)
        # The flusher has not run yet: the record has an offset but is not visible.
        assert (log.end_offset(0), log.durable_end(0)) == (1, 0)
        assert await log.read(0, 0, 10) == []
        await receipt.durable
        assert await log.read(0, 0, 10) == [expected_entry(0, 0)]
        await log.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(("start", "count"), [(0, 1), (3, 4), (17, 100), (39, 5), (40, 5), (0, 0), (12, 28)])
def test_reads_from_any_offset_across_segment_rolls(directory: Path, start: int, count: int) -> None:
    async def scenario() -> None:
        log = open_log(directory, segment_bytes=250, cache_entries=0)
        for _ in range(8):
            await log.flush()  # one group per 5 records: segments roll at group boundaries
            append_many(log, 0, 5)
        await log.flush()
        assert len(segment_files(directory)) > 3
        expected = [expected_entry(0, offset) for offset in range(start, min(start + count, 40))]
        assert await log.read(0, start, count) == expected
        await log.close()

    asyncio.run(scenario())


def test_segments_are_named_by_their_first_offset(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, segment_bytes=1)
        for _ in range(3):
            append_many(log, 0, 2)
            await log.flush()
        await log.close()

    asyncio.run(scenario())
    assert [path.name for path in segment_files(directory)] == [f"{base:020d}.seg" for base in (0, 2, 4)]


def test_cache_and_disk_give_identical_entries(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(depots.segment_files, "READ_CHUNK_BYTES", 64)  # several preads per segment

    async def write_and_read(cache_entries: int) -> list[LogEntry]:
        log = open_log(directory, segment_bytes=400, cache_entries=cache_entries)
        for _ in range(30):
            append_many(log, 0, 10)
            await log.flush()
        mixed = await read_all(log, 0)
        await log.close()
        return mixed

    cached = asyncio.run(write_and_read(cache_entries=1_000))  # everything still cached
    reopened = open_log(directory)  # a fresh log caches nothing: every read goes to disk
    from_disk = asyncio.run(read_all(reopened, 0, start=0))
    asyncio.run(reopened.close())
    expected = [expected_entry(0, offset) for offset in range(300)]
    assert cached == from_disk == expected


def test_cache_keeps_the_newest_entries_and_older_reads_go_to_disk(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, cache_entries=100)
        for _ in range(10):
            append_many(log, 0, 50)
            await log.flush()
        expected = [expected_entry(0, offset) for offset in range(500)]
        assert await log.read(0, 0, 500) == expected
        assert await log.read(0, 450, 50) == expected[450:]
        assert await log.read(0, 380, 70) == expected[380:450]
        await log.close()

    asyncio.run(scenario())


def test_cache_byte_limit_evicts_the_oldest_entries(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, cache_bytes=100)
        for _ in range(20):
            append_many(log, 0, 5)
            await log.flush()
        expected = [expected_entry(0, offset) for offset in range(100)]
        for start in (0, 60, 90, 99):
            assert await log.read(0, start, 100) == expected[start:]
        await log.close()

    asyncio.run(scenario())


def test_group_commit_syncs_once_per_group_not_per_append(directory: Path, fsyncs: list[int]) -> None:
    async def scenario() -> None:
        log = open_log(directory, partitions=2)
        fsyncs.clear()  # ignore the layout's creation
        receipts = append_many(log, 0, 500) + append_many(log, 1, 500)
        await asyncio.gather(*(receipt.durable for receipt in receipts))
        # One group: one fsync per partition file, one per partition directory gaining its first segment.
        assert len(fsyncs) == 4
        await log.close()

    asyncio.run(scenario())


def test_appends_during_an_fsync_form_the_next_group(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def blocking_fsync(fd: int) -> None:
        syncing.set()
        release.wait()
        real_fsync(fd)

    async def scenario() -> None:
        log = open_log(directory)
        first = append_many(log, 0, 3)
        monkeypatch.setattr(os, "fsync", blocking_fsync)
        await asyncio.to_thread(syncing.wait)  # the first group is now in its fsync
        second = append_many(log, 0, 3)  # the loop still accepts appends
        assert [receipt.offset for receipt in second] == [3, 4, 5]
        assert not any(receipt.durable.done() for receipt in first + second)
        release.set()
        await asyncio.gather(*(receipt.durable for receipt in first))
        assert log.durable_end(0) == 3
        await asyncio.gather(*(receipt.durable for receipt in second))
        assert log.durable_end(0) == 6
        await log.close()

    asyncio.run(scenario())


def test_never_policy_skips_fsync(directory: Path, fsyncs: list[int]) -> None:
    async def scenario() -> None:
        log = open_log(directory, fsync=FsyncPolicy.NEVER)
        fsyncs.clear()
        append_many(log, 0, 100)
        await log.flush()
        assert log.durable_end(0) == 100
        await log.close()

    asyncio.run(scenario())
    assert fsyncs == []


def test_listeners_hear_each_durable_advance(directory: Path) -> None:
    heard: list[tuple[int, int]] = []

    async def scenario() -> None:
        log = open_log(directory, partitions=2)
        log.add_durable_listener(lambda part, end: heard.append((part, end)))
        append_many(log, 1, 3)
        await log.flush()
        append_many(log, 0, 2)
        append_many(log, 1, 1)
        await log.flush()
        await log.close()

    asyncio.run(scenario())
    assert heard == [(1, 3), (0, 2), (1, 4)]


def test_a_failing_listener_does_not_stop_the_log(directory: Path, caplog: pytest.LogCaptureFixture) -> None:
    heard: list[int] = []

    def broken(partition: int, durable_end: int) -> None:
        raise RuntimeError("listener bug")

    async def scenario() -> None:
        log = open_log(directory)
        log.add_durable_listener(broken)
        log.add_durable_listener(lambda _, end: heard.append(end))
        [receipt] = append_many(log, 0, 1)
        await receipt.durable
        await log.close()

    asyncio.run(scenario())
    assert heard == [1]
    assert "durable listener" in caplog.text


def test_reopen_keeps_every_record(directory: Path) -> None:
    async def write(count: int) -> None:
        log = open_log(directory, partitions=2, segment_bytes=300)
        for _ in range(count // 10):
            append_many(log, 0, 10)
            append_many(log, 1, 5)
            await log.flush()
        await log.close()

    asyncio.run(write(60))
    asyncio.run(write(40))  # appends continue after the recovered end

    async def check() -> None:
        log = open_log(directory, partitions=2)
        assert [log.durable_end(0), log.durable_end(1)] == [100, 50]
        assert await read_all(log, 0) == [expected_entry(0, offset) for offset in range(100)]
        assert await read_all(log, 1) == [expected_entry(1, offset) for offset in range(50)]
        await log.close()

    asyncio.run(check())


def test_fsync_failure_fails_the_group_and_stops_the_log(
    directory: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        log = open_log(directory)
        append_many(log, 0, 2)
        await log.flush()
        monkeypatch.setattr(os, "fsync", failing(errno.EIO))
        receipts = append_many(log, 0, 3)
        for receipt in receipts:
            with pytest.raises(OSError) as caught:
                await receipt.durable
            assert caught.value.errno == errno.EIO
        assert log.durable_end(0) == 2
        assert await read_all(log, 0) == [expected_entry(0, 0), expected_entry(0, 1)]
        with pytest.raises(LogFailedError):
            log.append(0, b"late", TIMESTAMP_MS)
        with pytest.raises(LogFailedError):
            await log.flush()
        await log.close()  # reported through the futures already; close releases the files

    asyncio.run(scenario())
    assert "failed" in caplog.text


def test_appends_queued_behind_a_failed_fsync_fail_too(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncing, release = threading.Event(), threading.Event()

    def failing_fsync(fd: int) -> None:
        syncing.set()
        release.wait()
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    async def scenario() -> None:
        log = open_log(directory)
        monkeypatch.setattr(os, "fsync", failing_fsync)
        [first] = append_many(log, 0, 1)
        await asyncio.to_thread(syncing.wait)
        [queued] = append_many(log, 0, 1)  # accepted: the failure is not known yet
        release.set()
        with pytest.raises(OSError, match="Input/output error"):
            await first.durable
        with pytest.raises(LogFailedError, match=r"failed: .*Input/output error"):
            await queued.durable
        await log.close()

    asyncio.run(scenario())


def test_write_failure_fails_the_group(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        log = open_log(directory, fsync=FsyncPolicy.NEVER)
        monkeypatch.setattr(os, "pwrite", failing(errno.ENOSPC))
        [receipt] = append_many(log, 0, 1)
        with pytest.raises(OSError, match="No space"):
            await receipt.durable
        assert log.durable_end(0) == 0
        await log.close()

    asyncio.run(scenario())


def test_appends_pending_at_loop_shutdown_are_committed_by_the_next_loop(directory: Path) -> None:
    log = open_log(directory)  # opened outside any event loop

    async def append_and_leave() -> None:
        append_many(log, 0, 3)
        for task in asyncio.all_tasks():
            if task.get_name().startswith("flush "):
                task.cancel()  # as a shutdown would, before the flusher ever ran

    async def carry_on() -> list[LogEntry]:
        await log.flush()
        entries = await read_all(log, 0)
        await log.close()
        return entries

    asyncio.run(append_and_leave())
    assert asyncio.run(carry_on()) == [expected_entry(0, offset) for offset in range(3)]


def test_loop_shutdown_during_fsync_finishes_the_group(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def fsync_blocking_in_worker(fd: int) -> None:
        if threading.current_thread() is threading.main_thread():
            release.set()  # the inline fsync at shutdown lets the worker's fsync go too
        else:
            syncing.set()
            release.wait()
        real_fsync(fd)

    log = open_log(directory)

    async def leave_during_fsync() -> None:
        append_many(log, 0, 2)
        await asyncio.to_thread(syncing.wait)

    monkeypatch.setattr(os, "fsync", fsync_blocking_in_worker)
    asyncio.run(leave_during_fsync())
    assert log.durable_end(0) == 2
    asyncio.run(log.close())


def test_close_is_idempotent_and_refuses_later_use(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory)
        receipts = append_many(log, 0, 3)
        await log.close()
        assert all(receipt.durable.done() for receipt in receipts)  # close flushed them
        await log.close()
        with pytest.raises(LogClosedError):
            log.append(0, b"late", TIMESTAMP_MS)
        with pytest.raises(LogClosedError):
            await log.read(0, 0, 1)

    asyncio.run(scenario())


def test_rejects_bad_arguments(directory: Path) -> None:
    async def scenario() -> None:
        log = open_log(directory, partitions=2)
        for partition in (-1, 2):
            with pytest.raises(IndexError):
                log.append(partition, b"x", TIMESTAMP_MS)
        with pytest.raises(ValueError, match="timestamp_ms"):
            log.append(0, b"x", -1)
        with pytest.raises(ValueError, match="negative"):
            await log.read(0, -1, 1)
        assert log.end_offset(0) == 0
        await log.close()

    asyncio.run(scenario())


def test_append_needs_a_running_loop(directory: Path) -> None:
    log = open_log(directory)
    with pytest.raises(RuntimeError):
        log.append(0, payload(0, 0), TIMESTAMP_MS)
    assert log.end_offset(0) == 0
    asyncio.run(log.close())


def failing(code: int) -> Callable[..., object]:
    """Return a stand-in for an os function that fails with `code`."""

    def fail(*_: object) -> object:
        raise OSError(code, os.strerror(code))

    return fail


def test_open_validates_its_arguments_and_describes_the_log(directory: Path) -> None:
    for partitions, segment_bytes in ((0, 1), (1, 0)):
        with pytest.raises(ValueError, match="must be positive"):
            SegmentLog.open(directory, partitions, segment_bytes=segment_bytes)
    log = SegmentLog.open(directory, 4)
    assert (log.partitions, log.directory) == (4, directory)
    asyncio.run(log.close())
