"""Standby replicas: warm copies of tasks this worker may take over, kept at the end of their changelogs.

A worker started with `--standbys N` is given standby tasks by the group leader
(`cluster.workers.standby_placement`). For each standby task it keeps, for every hosted module, a
`StandbyReplica`: the task's RocksDB store at the very path a task host of that task would open
(`task_store_path`), first made right as a gaining owner would (`TaskRecovery.open`: its own store if it is
part of the history, else the newest S3 checkpoint, else empty; then the changelog to its end), then kept warm
by following the changelog partition with the restore's own `ChainApplier`: only durable records (the reads
stop at the broker's high watermark), `prev` must continue the history (a stray or old owner's record is
skipped), checksums checked (a corrupt record stops the replica with `ChangelogCorruptError` naming its place).

Promotion hands the open store over: the worker stops the replica and gives its store to the task host
(`TaskHost(adopted=...)`; closing and reopening would cost a memtable flush, ~0.3 s for 200k keys), whose
`TaskRecovery.open` finds a local store that is part of the history and replays only the records the replica
had not applied yet. A replica that failed hands nothing over: the host opens the store from disk.

Writes are not synced: a replica that loses its latest writes in a machine crash holds an older position,
still consistent with its data (each commit and its position are one `WriteBatch`), and simply replays more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from cluster.depot_storage import DepotStorage
from cluster.workers.changelog import (
    CHANGELOG_DEPOT,
    READ_RECORDS,
    ChainApplier,
    ChangelogCorruptError,
    Position,
    changelog_end,
)
from cluster.workers.checkpoints import TaskRecovery
from cluster.workers.task_host import task_store_path
from depots.log import DepotLog
from pstates.errors import TuskError
from pstates.store import KVStore, open_store
from topology.module import Module

log = logging.getLogger(__name__)

EventSink = Callable[[dict[str, Any]], None]
POLL_S = 0.05  # how often a replica asks the broker for the changelog's end (no listener fires for others)
RETRY_S = 1.0  # after a broker error


class StandbyReplica:
    """A warm copy of one module's store of one task (see the module docstring)."""

    def __init__(
        self,
        module: str,
        task: int,
        path: Path,
        changelog: DepotLog,
        recovery: TaskRecovery,
        on_event: EventSink | None = None,
    ) -> None:
        self.module = module
        self.task = task
        self.path = path
        self.changelog = changelog
        self.recovery = recovery
        self.state = "new"  # new, warming, warm, failed, stopped
        self.error: BaseException | None = None
        self._emit = on_event or (lambda _event: None)
        self._chain: ChainApplier | None = None
        self._store: KVStore | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def position(self) -> Position:
        """The last changelog commit this copy holds (none before its warm-up)."""
        return self._chain.position if self._chain is not None else Position()

    def start(self) -> None:
        """Warm up and follow the changelog in the background until `stop`."""
        self._runner = asyncio.get_running_loop().create_task(self._run(), name=f"standby {self.module}/{self.task}")

    async def stop(self) -> Position:
        """Stop following and close the store (its lock is released); return the position it holds."""
        store = await self.hand_over()
        if store is not None:
            store.close()
        return self.position

    async def hand_over(self) -> KVStore | None:
        """Stop following; return the store, still open, for a task host to adopt (None if the replica failed)."""
        self._stopping = True
        if self._runner is not None:
            if self.state == "warm":  # between two whole commits at every await: safe to cancel
                self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner  # a warm-up in progress finishes first (it cleans up after itself)
        store, self._store = self._store, None
        if self.state == "failed":
            if store is not None:
                store.close()
            return None
        self.state = "stopped"
        return store

    async def _run(self) -> None:
        try:
            await self._warm_up()
            while not self._stopping:
                if not await self._follow():
                    await asyncio.sleep(POLL_S)
        except Exception as exc:  # corrupt record, locked or unreadable store: a promoted host meets it again
            self._fail(exc)

    async def _warm_up(self) -> None:
        self.state = "warming"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        opened = open_store(f"rocksdb://{self.path.resolve()}")
        seen = len(self.recovery.reports)
        try:
            logged = await self.recovery.open(opened, self.path, self.module, self.task, self.changelog)
        except BaseException:
            opened.close()  # idempotent (`open` closes the store it was restoring into itself)
            raise
        self._store = logged.inner
        self._chain = ChainApplier(self._store, self.task, logged.position)
        self.state = "warm"
        report = self.recovery.reports[seen]
        self._emit(
            {
                "event": "standby",
                "module": self.module,
                "task": self.task,
                "source": report.source,
                "seconds": report.seconds,
                "records": report.records_replayed,
            }
        )

    async def _follow(self) -> bool:
        """Apply the records the broker holds now; False when there were none (or the broker failed)."""
        assert self._chain is not None
        chain = self._chain
        try:
            end = await changelog_end(self.changelog, self.task)
            if end <= chain.next_offset:
                return False
            entries = await self.changelog.read(
                self.task, chain.next_offset, min(READ_RECORDS, end - chain.next_offset)
            )
            for entry in entries:
                chain.feed(entry)
            if not entries:  # seen on tansu right at the tail: the watermark moved before the fetch saw the batch
                log.warning(
                    "standby %s/%d: offsets %d..%d not readable yet", self.module, self.task, chain.next_offset, end
                )
                return False
        except ChangelogCorruptError:
            raise
        except (KafkaError, OSError, TuskError) as exc:  # a broker hiccup: try again
            log.warning("standby %s/%d: reading the changelog failed: %r", self.module, self.task, exc)
            await asyncio.sleep(RETRY_S)
            return False
        return True

    def _fail(self, exc: BaseException) -> None:
        self.state, self.error = "failed", exc
        log.error("standby %s/%d stopped: %s", self.module, self.task, exc)
        self._emit({"event": "standby_failed", "module": self.module, "task": self.task, "error": str(exc)})


class Standbys:
    """A worker's standby replicas, per task, one per hosted module."""

    def __init__(
        self,
        storage: DepotStorage,
        data_dir: Path,
        modules: Sequence[Module],
        tasks: int,
        recovery: TaskRecovery,
        on_event: EventSink | None = None,
    ) -> None:
        self.storage = storage
        self.data_dir = data_dir
        self.modules = list(modules)
        self.tasks = tasks
        self.recovery = recovery  # its own: reports of warm-ups must not mix with the task hosts'
        self.replicas: dict[int, list[StandbyReplica]] = {}
        self._emit = on_event or (lambda _event: None)

    async def reconcile(self, wanted: frozenset[int]) -> None:
        """Stop the replicas of tasks no longer wanted, start those of newly wanted ones."""
        for task in sorted(set(self.replicas) - wanted):
            await self.release(task, "unassigned")
        for task in sorted(wanted - set(self.replicas)):
            replicas = []
            for module in self.modules:
                changelog = await self.storage.open_log(module.name, CHANGELOG_DEPOT, self.tasks)
                path = task_store_path(self.data_dir, module.name, task)
                replicas.append(StandbyReplica(module.name, task, path, changelog, self.recovery, self._emit))
            self.replicas[task] = replicas
            for replica in replicas:
                replica.start()

    async def promote(self, task: int) -> dict[str, KVStore]:
        """Stop `task`'s replicas, if any; return their open stores by module, for the task host to adopt."""
        warm: dict[str, KVStore] = {}
        for replica in self.replicas.pop(task, []):
            state = replica.state  # warm, or still warming (the warm-up finishes first), or failed
            store = await replica.hand_over()
            if store is not None:
                warm[replica.module] = store
            await self._stopped(replica, "promoted", state)
        return warm

    async def release(self, task: int, reason: str) -> None:
        """Stop `task`'s replicas, if any, and close their stores."""
        for replica in self.replicas.pop(task, []):
            state = replica.state
            await replica.stop()
            await self._stopped(replica, reason, state)

    async def _stopped(self, replica: StandbyReplica, reason: str, state: str) -> None:
        await replica.changelog.close()
        self._emit(
            {
                "event": "standby_stopped",
                "module": replica.module,
                "task": replica.task,
                "reason": reason,
                "state": state,
                "position": replica.position.offset,
            }
        )

    async def close(self) -> None:
        """Stop every replica."""
        for task in sorted(self.replicas):
            await self.release(task, "closing")
