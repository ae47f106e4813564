"""A Hypothesis state machine checks the segment log against a list-per-partition model.

Rules append, flush, read, reopen, and tear the tail of a closed log (as a crash mid-write would); reads
must always equal the model's durable prefix.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from depots.log import FsyncPolicy, LogEntry
from depots.segment_files import HEADER_BYTES
from depots.segment_log import SegmentLog
from tests.depots.support import segment_files

PARTITIONS = 2
partitions = st.integers(0, PARTITIONS - 1)


class SegmentLogMachine(RuleBasedStateMachine):
    """Drive one log on one event loop; `model[p]` holds every entry appended to partition p."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="segment-log-model-"))
        self.loop = asyncio.new_event_loop()
        self.model: list[list[LogEntry]] = [[] for _ in range(PARTITIONS)]
        self.log = self.open()

    def open(self) -> SegmentLog:
        return SegmentLog.open(
            self.root / "depot", PARTITIONS, fsync=FsyncPolicy.NEVER, segment_bytes=300, cache_entries=6
        )

    @rule(
        partition=partitions,
        payloads=st.lists(st.binary(max_size=80), min_size=1, max_size=12),
        timestamp_ms=st.integers(0, 2**64 - 1),
    )
    def append(self, partition: int, payloads: list[bytes], timestamp_ms: int) -> None:
        """Append a few records in one go, so that they share a group commit."""

        async def append() -> list[int]:
            return [self.log.append(partition, payload, timestamp_ms).offset for payload in payloads]

        offsets = self.loop.run_until_complete(append())
        model = self.model[partition]
        assert offsets == list(range(len(model), len(model) + len(payloads)))
        model += [LogEntry(offset, timestamp_ms, payload) for offset, payload in zip(offsets, payloads, strict=True)]

    @rule()
    def flush(self) -> None:
        self.loop.run_until_complete(self.log.flush())
        for partition in range(PARTITIONS):
            assert self.log.durable_end(partition) == len(self.model[partition])

    @rule(partition=partitions, data=st.data())
    def read(self, partition: int, data: st.DataObject) -> None:
        """Read a range chosen around the durable end, where cache and disk meet."""
        durable_end = self.log.durable_end(partition)
        start = data.draw(st.integers(0, durable_end + 2), label="start")
        count = data.draw(st.integers(0, durable_end - start + 2), label="count")
        entries = self.loop.run_until_complete(self.log.read(partition, start, count))
        durable = self.model[partition][:durable_end]
        assert entries == durable[start : start + count]

    @rule()
    def reopen(self) -> None:
        self.loop.run_until_complete(self.log.close())
        self.log = self.open()

    @precondition(lambda self: any(self.model))
    @rule(partition=partitions, cut=st.integers(1, 60))
    def tear_tail(self, partition: int, cut: int) -> None:
        """Cut bytes off a partition's last segment, as a crash during its last write would."""
        self.loop.run_until_complete(self.log.close())
        files = segment_files(self.root / "depot", partition)
        if files:
            last = files[-1]
            size = max(0, last.stat().st_size - cut)
            os.truncate(last, size)
            self.model[partition] = self.model[partition][: records_within(self.model[partition], last, size)]
        self.log = self.open()

    @invariant()
    def durable_never_passes_appended(self) -> None:
        for partition in range(PARTITIONS):
            assert self.log.durable_end(partition) <= self.log.end_offset(partition)
            assert self.log.end_offset(partition) == len(self.model[partition])

    def teardown(self) -> None:
        self.loop.run_until_complete(self.log.close())
        self.loop.close()
        shutil.rmtree(self.root)


def records_within(entries: list[LogEntry], segment: Path, size: int) -> int:
    """Count the records that end within the first `size` bytes of `segment` or in earlier segments."""
    kept = int(segment.stem)
    position = 0
    for entry in entries[kept:]:
        position += HEADER_BYTES + len(entry.payload)
        if position > size:
            break
        kept += 1
    return kept


TestSegmentLog = SegmentLogMachine.TestCase
TestSegmentLog.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
