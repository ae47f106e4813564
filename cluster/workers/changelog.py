"""A changelog per task store: every committed `WriteBatch` is also a record of the task's changelog partition.

Topic `NAMESPACE.<module>.~changelog` (made Kafka-legal like every depot topic), partition t = task t; its one
producer is the task's owner, so the depot log's offset check holds. A record is
`crc32 (4 bytes, big-endian) + msgpack([FORMAT, prev, final, ops])`:

* `ops` are the batch's writes by column name: `[column, PUT|DELETE|DELETE_RANGE, a, b]`. The consumed source
  offsets and batch ids are writes to the meta column, so they travel in the same record as the state: a
  restore applies whole commits, and never a state without the offsets that produced it.
* `prev` is the changelog offset of the record this one follows. The valid history is the chain of records
  each following the last one applied, first come first served: a record whose `prev` is not the last
  applied (written by a previous owner that kept running, or by an attempt whose offsets collided) is
  skipped. A batch larger than `CHUNK_BYTES` is several records chained by `prev`, applied when the one
  marked `final` arrives; a chain its writer never finished is dropped.

The rule that makes recovery correct without waiting for the broker inside `write`: the record is appended
(offset known at once) *before* the RocksDB write, and the store's meta column keeps the offset and CRC of
the last record it holds (`position`). The changelog, not the local store, is the truth: a local store is
reused only when its position is a durable record with the same CRC, else it is discarded and restored. So
a crash between the RocksDB commit and the broker's acknowledgement loses that commit everywhere, and the
next owner consumes its source records again (stream writes are idempotent; a microbatch replans). Whoever
acknowledges a batch's effects waits for `durable()` first (see `cluster.workers.task_host`), and a
microbatch's stored plan is durable before its hops are sent.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from cluster.runtime import META_COLUMN
from depots.log import AppendReceipt, DepotLog, LogEntry
from pstates.errors import TuskError
from pstates.keycodec import encode_key
from pstates.page_cache import ColumnWatch, PageCache
from pstates.store import ColumnHandle, KVStore, WriteBatch

log = logging.getLogger(__name__)

CHANGELOG_DEPOT = "~changelog"
FORMAT = 1
PUT, DELETE, DELETE_RANGE = 0, 1, 2
CHUNK_BYTES = 512 << 10  # well under the producer's 1 MiB record batches and the broker's request limit
READ_RECORDS = 1_000
POSITION_KEY = encode_key(("changelog",))

Op = tuple[str, int, bytes, bytes | None]


class ChangelogCorruptError(TuskError):
    """A changelog record failed its checksum or does not decode: the task is not restored from it."""


class ChangelogDivergedError(TuskError):
    """A store write failed after its changelog record was appended: the local store must be restored."""


@dataclass(frozen=True, slots=True)
class Position:
    """The last changelog record a store holds: its offset (-1: none) and the CRC of its payload."""

    offset: int = -1
    crc: int = 0

    def packed(self) -> bytes:
        """The meta value stored under `POSITION_KEY`."""
        return msgpack.packb([self.offset, self.crc])


@dataclass(frozen=True, slots=True)
class ChangelogRecord:
    """One decoded record: the offset it follows, whether it ends its batch, and its writes."""

    prev: int
    final: bool
    ops: list[Op]


def encode_changelog_record(prev: int, final: bool, ops: Sequence[Op]) -> bytes:
    """The payload of one changelog record, checksummed."""
    body = msgpack.packb([FORMAT, prev, final, [list(op) for op in ops]], use_bin_type=True)
    return zlib.crc32(body).to_bytes(4, "big") + body


def decode_changelog_record(payload: bytes, where: str) -> ChangelogRecord:
    """Decode a payload, or raise `ChangelogCorruptError` naming `where` it was read."""
    if len(payload) < 4 or zlib.crc32(payload[4:]) != int.from_bytes(payload[:4], "big"):
        raise ChangelogCorruptError(f"changelog record {where}: checksum mismatch, refusing to restore from it")
    try:
        version, prev, final, ops = msgpack.unpackb(payload[4:], raw=False)
        if version != FORMAT:
            raise ChangelogCorruptError(f"changelog record {where}: format {version}, this worker reads {FORMAT}")
        return ChangelogRecord(int(prev), bool(final), [(str(c), int(k), bytes(a), b) for c, k, a, b in ops])
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ChangelogCorruptError(f"changelog record {where}: does not decode ({exc!r})") from exc


def read_position(store: KVStore) -> Position:
    """The changelog position a store's meta column records (none for a store that never saw one)."""
    raw = store.get(store.column(META_COLUMN), POSITION_KEY)
    if raw is None:
        return Position()
    offset, crc = msgpack.unpackb(raw)
    return Position(int(offset), int(crc))


class LoggedBatch(WriteBatch):
    """A store batch that also lists its writes by column name, for the changelog record."""

    def __init__(self, inner: WriteBatch, names: dict[int, str]) -> None:
        self.inner = inner
        self.ops: list[Op] = []
        self._names = names

    def put(self, column: ColumnHandle, key: bytes, value: bytes) -> None:
        """Set `key` to `value` in `column` when the batch is written."""
        self.inner.put(column, key, value)
        self.ops.append((self._names[id(column)], PUT, key, value))

    def delete(self, column: ColumnHandle, key: bytes) -> None:
        """Remove `key` from `column` when the batch is written."""
        self.inner.delete(column, key)
        self.ops.append((self._names[id(column)], DELETE, key, None))

    def delete_range(self, column: ColumnHandle, start: bytes, end: bytes) -> None:
        """Remove every key `start <= key < end` from `column` when the batch is written."""
        self.inner.delete_range(column, start, end)
        self.ops.append((self._names[id(column)], DELETE_RANGE, start, end))

    def __len__(self) -> int:
        return len(self.inner)


class ChangelogStore(KVStore):
    """A task store whose every write is first appended to its changelog partition (see the module docstring)."""

    def __init__(self, inner: KVStore, changelog: DepotLog, partition: int, position: Position) -> None:
        self.inner = inner
        self.changelog = changelog
        self.partition = partition
        self.position = position
        self.records_written = 0
        self._names: dict[int, str] = {}
        self._meta = self.column(META_COLUMN)
        self._last_receipt: AppendReceipt | None = None
        self._diverged: BaseException | None = None

    def column(self, name: str) -> ColumnHandle:
        """The inner store's handle of column `name`, remembered by name for the changelog."""
        handle = self.inner.column(name)
        self._names[id(handle)] = name
        return handle

    def column_names(self) -> list[str]:
        """Names of every column."""
        return self.inner.column_names()

    def watch_column(self, name: str, cache: PageCache) -> ColumnWatch | None:
        """The inner store's watch: every write here is a write of the inner store, which invalidates it."""
        return self.inner.watch_column(name, cache)

    def get(self, column: ColumnHandle, key: bytes) -> bytes | None:
        """Committed value of `key`, or None."""
        return self.inner.get(column, key)

    def multi_get(self, column: ColumnHandle, keys: Sequence[bytes]) -> list[bytes | None]:
        """Committed values of `keys`, in order."""
        return self.inner.multi_get(column, keys)

    def range(
        self,
        column: ColumnHandle,
        start: bytes | None = None,
        end: bytes | None = None,
        *,
        reverse: bool = False,
        limit: int | None = None,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Committed pairs of `column` in `[start, end)`."""
        return self.inner.range(column, start, end, reverse=reverse, limit=limit)

    def new_batch(self) -> WriteBatch:
        """A batch that records its writes for the changelog."""
        return LoggedBatch(self.inner.new_batch(), self._names)

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Append the batch to the changelog, then write it and the new position in one RocksDB batch."""
        if self._diverged is not None:
            raise ChangelogDivergedError(f"changelog partition {self.partition}: {self._diverged!r}; reopen the task")
        if not isinstance(batch, LoggedBatch):
            raise TypeError(f"ChangelogStore cannot write a {type(batch).__name__}")
        if not batch.ops:
            self.inner.write(batch.inner, sync=sync)
            return
        prev, payload = self.position.offset, b""
        chunks = list(_chunks(batch.ops))
        for index, chunk in enumerate(chunks):
            payload = encode_changelog_record(prev, index == len(chunks) - 1, chunk)
            self._last_receipt = self.changelog.append(self.partition, payload, 0)
            prev = self._last_receipt.offset
        position = Position(prev, zlib.crc32(payload))
        batch.inner.put(self._meta, POSITION_KEY, position.packed())
        try:
            self.inner.write(batch.inner, sync=sync)
        except BaseException as exc:  # the changelog now holds a commit this store lacks: stop writing
            self._diverged = exc
            raise
        self.position = position
        self.records_written += len(chunks)

    async def durable(self) -> None:
        """Return once every record appended so far is acknowledged by the broker (raises if one failed)."""
        receipt = self._last_receipt
        if receipt is not None:
            await receipt.durable

    def close(self) -> None:
        """Close the inner store (the changelog log belongs to the task host)."""
        self.inner.close()


def _chunks(ops: list[Op]) -> Iterable[list[Op]]:
    """Split a batch's writes into groups of about `CHUNK_BYTES` (at least one write each)."""
    chunk: list[Op] = []
    size = 0
    for op in ops:
        op_size = len(op[0]) + len(op[2]) + len(op[3] or b"") + 8
        if chunk and size + op_size > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(op)
        size += op_size
    yield chunk


async def changelog_end(changelog: DepotLog, partition: int) -> int:
    """The changelog partition's end as the broker says now (the log's own view may be stale)."""
    refresh: Any = getattr(changelog, "refresh", None)
    if refresh is not None:
        await refresh(partition)
    return changelog.durable_end(partition)


async def holds_durable_record(changelog: DepotLog, partition: int, position: Position) -> bool:
    """Whether `position` names a durable record with that CRC (so a store at it is part of the history)."""
    if position.offset < 0:
        return True
    if position.offset >= await changelog_end(changelog, partition):
        return False
    [entry] = await changelog.read(partition, position.offset, 1)
    return zlib.crc32(entry.payload) == position.crc


async def replay_changelog(store: KVStore, changelog: DepotLog, partition: int, position: Position) -> Position:
    """Apply the chain of records after `position` up to the changelog's end; return the new position."""
    chain = ChainApplier(store, partition, position)
    await chain.catch_up(changelog, await changelog_end(changelog, partition))
    store.write(store.new_batch(), sync=True)  # one fsync for the whole restore
    return chain.position


class ChainApplier:
    """Applies a changelog partition's records to a store, one after another, by the history chain rule.

    A restore runs one to the changelog's end; a standby (`cluster.workers.standby`) keeps one and feeds it
    each new durable record, so both follow exactly the same history.
    """

    def __init__(self, store: KVStore, partition: int, position: Position) -> None:
        self.store = store
        self.partition = partition
        self.position = position  # the last commit applied
        self.next_offset = position.offset + 1  # the next record to read
        self.commits_applied = 0
        self._meta = store.column(META_COLUMN)
        self._pending: list[Op] = []
        self._pending_last: int | None = None  # offset of the last chunk of an unfinished batch

    def feed(self, entry: LogEntry) -> None:
        """Apply `entry` if it continues the history (a whole commit once its final chunk arrives); else skip it."""
        record = decode_changelog_record(entry.payload, f"{self.partition}/{entry.offset}")
        self.next_offset = entry.offset + 1
        if record.prev == self.position.offset:
            self._pending = list(record.ops)  # a new commit after the last one applied (drops an unfinished one)
        elif self._pending_last is not None and record.prev == self._pending_last:
            self._pending += record.ops
        else:
            log.warning(
                "changelog %d/%d follows %d, not the history: skipped", self.partition, entry.offset, record.prev
            )
            return
        self._pending_last = entry.offset
        if record.final:
            self.position = Position(entry.offset, zlib.crc32(entry.payload))
            _apply(self.store, self._meta, self._pending, self.position)
            self._pending, self._pending_last = [], None
            self.commits_applied += 1

    async def catch_up(self, changelog: DepotLog, end: int) -> None:
        """Feed every record from `next_offset` up to `end` (exclusive; at most the changelog's durable end)."""
        while self.next_offset < end:
            entries = await changelog.read(self.partition, self.next_offset, min(READ_RECORDS, end - self.next_offset))
            if not entries:
                raise ChangelogCorruptError(
                    f"changelog partition {self.partition}: offsets {self.next_offset}..{end} cannot be read"
                )
            for entry in entries:
                self.feed(entry)
            await asyncio.sleep(0)  # a long restore must not starve the worker's heartbeats and RPC


def _apply(store: KVStore, meta: ColumnHandle, ops: list[Op], position: Position) -> None:
    batch = store.new_batch()
    columns: dict[str, ColumnHandle] = {}
    for name, kind, a, b in ops:
        column = columns.get(name)
        if column is None:
            column = columns[name] = store.column(name)
        if kind == PUT:
            batch.put(column, a, b or b"")
        elif kind == DELETE:
            batch.delete(column, a)
        else:
            batch.delete_range(column, a, b or b"")
    batch.put(meta, POSITION_KEY, position.packed())
    store.write(batch)
