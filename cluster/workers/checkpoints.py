"""RocksDB checkpoints of task stores in S3, and how a task's store is made right when a worker gains it.

A checkpoint is RocksDB's own (`Checkpoint.create_checkpoint`: a consistent copy, hard links to the
immutable SST files), taken on the event loop between two commits, so it holds exactly the commits up to the
store's changelog `Position`. It is tarred and uploaded with boto3 (in a thread: boto3 blocks) only once that
position is durable in the changelog, as `PREFIX/NAMESPACE/MODULE/task-T/OFFSET-CRC.tar`: the key says
which changelog record it covers, so listing the task's keys finds the newest without opening any.

Restore = the newest checkpoint whose record is in the changelog (same offset and CRC), then the changelog
from the record after it. `TaskRecovery.open` decides what a gaining worker starts from:

1. its own store, when its position is a durable changelog record with the same CRC (a restart, or a task
   coming back): catch up from there;
2. else the newest checkpoint in S3 (the local store is discarded: it holds a commit the changelog lost);
3. else an empty store and the whole changelog.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
from botocore.config import Config

from cluster.workers.changelog import (
    ChangelogStore,
    Position,
    holds_durable_record,
    read_position,
    replay_changelog,
)
from depots.log import DepotLog
from pstates.rocksdb_store import RocksDBStore
from pstates.store import KVStore, open_store

log = logging.getLogger(__name__)

KEEP_CHECKPOINTS = 2
EVERY_RECORDS = 10_000  # default schedule: a checkpoint once this many changelog records were written ...
EVERY_S = 300.0  # ... or this long passed with any record written


class CheckpointBucket:
    """Checkpoint objects under one prefix of one S3 bucket (any S3-compatible server)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str | None = None,
        every_records: int = EVERY_RECORDS,
        every_s: float = EVERY_S,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.every_records = every_records  # the schedule of the task recoveries that upload here
        self.every_s = every_s
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"})
        # Credentials come from boto3's chain (environment, shared files, instance role).
        self._client: Any = boto3.client("s3", endpoint_url=endpoint, region_name=region or "us-east-1", config=config)

    @classmethod
    def from_url(cls, url: str, every_records: int = EVERY_RECORDS, every_s: float = EVERY_S) -> CheckpointBucket:
        """`s3://BUCKET[/PREFIX][?endpoint=URL&region=R]`, checkpointing on the schedule given."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"checkpoint URL must be s3://BUCKET[/PREFIX][?endpoint=...], got {url!r}")
        if every_records < 1 or every_s <= 0:
            raise ValueError(f"checkpoint schedule must be positive, got {every_records} records / {every_s} s")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return cls(
            parsed.netloc,
            parsed.path,
            endpoint=query.get("endpoint"),
            region=query.get("region"),
            every_records=every_records,
            every_s=every_s,
        )

    def folder(self, namespace: str, module: str, task: int) -> str:
        """The key prefix of one task's checkpoints."""
        return "/".join(p for p in (self.prefix, namespace, module, f"task-{task}") if p) + "/"

    async def upload(self, folder: str, position: Position, tar_path: Path) -> str:
        """Store `tar_path` as the checkpoint covering `position`; drop all but the newest few."""
        key = f"{folder}{position.offset:020d}-{position.crc:08x}.tar"
        await asyncio.to_thread(self._client.upload_file, str(tar_path), self.bucket, key)
        for _, old in (await self.newest_first(folder))[KEEP_CHECKPOINTS:]:
            await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=old)
        return key

    async def newest_first(self, folder: str) -> list[tuple[Position, str]]:
        """The task's checkpoints, newest first."""
        pages = await asyncio.to_thread(self._list_keys, folder)
        found = []
        for key in pages:
            name = key.removeprefix(folder).removesuffix(".tar")
            offset, _, crc = name.partition("-")
            if offset.isdigit() and crc:
                found.append((Position(int(offset), int(crc, 16)), key))
        return sorted(found, key=lambda item: item[0].offset, reverse=True)

    def _list_keys(self, folder: str) -> list[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        return [
            o["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=folder) for o in page.get("Contents", [])
        ]

    async def download(self, key: str, target: Path) -> None:
        """Fetch `key` to the file `target`."""
        await asyncio.to_thread(self._client.download_file, self.bucket, key, str(target))


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """How a task's store was made right: from what, how many changelog records were read, how long it took."""

    source: str  # "local", "checkpoint" or "changelog"
    checkpoint: Position | None
    records_replayed: int
    seconds: float


@dataclass
class TaskRecovery:
    """A worker's settings for task stores kept recoverable on any machine (see the module docstring)."""

    namespace: str
    bucket: CheckpointBucket | None = None
    every_records: int | None = None  # checkpoint once this many records were written since the last (None:
    every_s: float | None = None  # ... or this long passed with any record written; the bucket's schedule)
    reports: list[RestoreReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.every_records is None:
            self.every_records = self.bucket.every_records if self.bucket is not None else EVERY_RECORDS
        if self.every_s is None:
            self.every_s = self.bucket.every_s if self.bucket is not None else EVERY_S

    async def open(self, opened: KVStore, path: Path, module: str, task: int, changelog: DepotLog) -> ChangelogStore:
        """Return the task's store at the end of its changelog, starting from the cheapest valid state."""
        started = time.monotonic()
        position, source, checkpoint = read_position(opened), "local", None
        store = opened
        if position.offset < 0 or not await holds_durable_record(changelog, task, position):
            log.warning("%s task %d: local store at %s is not in the changelog; restoring", module, task, position)
            store.close()
            shutil.rmtree(path)
            store, checkpoint = await self._restore_checkpoint(path, module, task, changelog)
            position = checkpoint or Position()
            source = "changelog" if checkpoint is None else "checkpoint"
        start = position.offset
        try:
            position = await replay_changelog(store, changelog, task, position)
        except BaseException:
            store.close()  # release the lock: the next attempt reopens it
            raise
        report = RestoreReport(source, checkpoint, max(0, position.offset - start), time.monotonic() - started)
        self.reports.append(report)
        log.info("%s task %d restored: %s", module, task, report)
        return ChangelogStore(store, changelog, task, position)

    async def _restore_checkpoint(
        self, path: Path, module: str, task: int, changelog: DepotLog
    ) -> tuple[KVStore, Position | None]:
        """Open the newest checkpoint that is part of the changelog at `path`, or an empty store."""
        if self.bucket is not None:
            folder = self.bucket.folder(self.namespace, module, task)
            for position, key in await self.bucket.newest_first(folder):
                if await holds_durable_record(changelog, task, position):
                    await self._unpack(key, path)
                    return open_store(f"rocksdb://{path.resolve()}"), position
                log.warning("%s task %d: checkpoint %s is not in the changelog; skipped", module, task, key)
        return open_store(f"rocksdb://{path.resolve()}"), None

    async def _unpack(self, key: str, path: Path) -> None:
        assert self.bucket is not None
        scratch = path.with_name(path.name + ".restore")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        archive = scratch / "checkpoint.tar"
        await self.bucket.download(key, archive)
        await asyncio.to_thread(_extract, archive, scratch / "db")
        (scratch / "db").rename(path)
        shutil.rmtree(scratch)

    async def checkpoint(self, store: ChangelogStore, path: Path, module: str, task: int) -> str | None:
        """Upload a checkpoint of `store` now (None: no bucket, not RocksDB, or nothing written yet)."""
        if self.bucket is None or not isinstance(store.inner, RocksDBStore) or store.position.offset < 0:
            return None
        scratch = path.with_name(path.name + f".checkpoint-{store.position.offset}")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        try:
            position = store.position  # read and copied with no await between: no commit slips in
            store.inner.checkpoint(str(scratch / "db"))
            await store.durable()  # a checkpoint must never hold a commit the changelog could still lose
            await asyncio.to_thread(_pack, scratch / "db", scratch / "checkpoint.tar")
            return await self.bucket.upload(
                self.bucket.folder(self.namespace, module, task), position, scratch / "checkpoint.tar"
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    async def keep_checkpointing(self, store: ChangelogStore, path: Path, module: str, task: int) -> None:
        """Upload a checkpoint whenever `every_records` records or `every_s` seconds passed (runs until cancelled)."""
        every_records, every_s = self.every_records or EVERY_RECORDS, self.every_s or EVERY_S
        last_records, last_time = store.records_written, time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, every_s))
            written = store.records_written - last_records
            due = written >= every_records or (written > 0 and time.monotonic() - last_time >= every_s)
            if not due:
                continue
            try:
                await self.checkpoint(store, path, module, task)
                last_records, last_time = store.records_written, time.monotonic()
            except Exception:  # S3 down, disk full: the changelog still has everything; try again later
                log.exception("%s task %d: checkpoint failed", module, task)


def _pack(source: Path, archive: Path) -> None:
    with tarfile.open(archive, "w") as tar:
        tar.add(source, arcname=".")


def _extract(archive: Path, target: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
