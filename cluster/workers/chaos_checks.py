"""What the worker chaos test checks, read from outside the workers: progress, depots and every PState.

* **Settled**: every source partition of every topology of every task has its committed offset (in the
  task store's meta column) at the partition's end on the broker, hop topics included. While the workers
  run, the stores are opened read-only (RocksDB allows that beside the writer; each look is a fresh open).
* **Depots**: every record of the load's depots read back from the broker, offsets contiguous.
* **PStates**: every key and value of every PState column of every task store, byte for byte, against the
  stores of an embedded `InProcessCluster` that replayed the same depots from offset 0. The meta column is
  not compared: it holds offsets, hop positions and plans, which differ between a worker and a replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import msgpack
from rocksdict import AccessType, Options, Rdict

from cluster.depot_storage import KafkaStorage
from cluster.inprocess import InProcessCluster
from cluster.runtime import META_COLUMN, offset_key
from cluster.workers.task_host import hop_depot
from depots.codec import decode_record
from depots.kafka_log import KafkaDepotLog
from depots.log import DepotLog
from topology.module import MicrobatchTopologySpec, ModuleDefinition, StreamTopologySpec

READ_CHUNK = 10_000


@dataclass(frozen=True)
class SourcePartition:
    """One depot partition one task of a topology consumes, and the meta key of its committed offset."""

    module: str
    task: int
    topology: str
    depot_module: str
    depot: str
    partition: int

    @property
    def meta_key(self) -> bytes:
        """The key of the committed offset in the task's meta column."""
        return offset_key(self.topology, self.depot_module, self.depot, self.partition)


def source_partitions(definitions: Sequence[ModuleDefinition], tasks: int, ticks: bool = True) -> list[SourcePartition]:
    """Every (task, topology, depot partition) the workers consume, hop topics included (as `TaskRuntime` does).

    `ticks=False` leaves tick depots out: running workers append to them every few hundred ms.
    """
    by_name = {d.name: d for d in definitions}
    found: list[SourcePartition] = []
    for definition in definitions:
        topologies: list[StreamTopologySpec | MicrobatchTopologySpec] = [
            *definition.streams.values(),
            *definition.microbatches.values(),
        ]
        for topology in topologies:
            refs = [(ref.module or definition.name, ref.name) for ref in topology.sources]
            if not ticks:
                refs = [(m, d) for m, d in refs if by_name[m].depots[d].tick_ms is None]
            partitions = [by_name[m].depots[d].partition_count(tasks) for m, d in refs]
            if topology.steps:
                refs.append((definition.name, hop_depot(topology.name)))
                partitions.append(tasks * tasks)
            for (depot_module, depot), count in zip(refs, partitions, strict=True):
                found += [
                    SourcePartition(definition.name, p % tasks, topology.name, depot_module, depot, p)
                    for p in range(count)
                ]
    return found


class ReadOnlyStore:
    """A task's RocksDB opened read-only: no lock taken, so it may sit beside a running worker's writer."""

    def __init__(self, path: Path) -> None:
        families = [name for name in Rdict.list_cf(str(path)) if name != "default"]
        self.columns = set(families)
        self._db: Rdict | None = Rdict(
            str(path),
            Options(raw_mode=True),
            column_families={name: Options(raw_mode=True) for name in families} or None,
            access_type=AccessType.read_only(),
        )

    def get(self, column: str, key: bytes) -> bytes | None:
        """The value of `key` in `column`, None if either is absent."""
        if column not in self.columns:
            return None
        value: bytes | None = self._live().get_column_family(column).get(key)
        return value

    def pairs(self, column: str) -> list[tuple[bytes, bytes]]:
        """Every (key, value) of `column` in key order; empty if the column was never created."""
        if column not in self.columns:
            return []
        return list(cast(Iterator[tuple[bytes, bytes]], self._live().get_column_family(column).items()))

    def close(self) -> None:
        """Release the database."""
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def _live(self) -> Rdict:
        assert self._db is not None, "store closed"
        return self._db


def task_store_path(data_dir: Path, module: str, task: int) -> Path:
    """Where a worker keeps task `task` of `module` (the layout `TaskHost` shares with `InProcessCluster`)."""
    return data_dir / module / "tasks" / str(task) / "pstates"


def open_task_stores(data_dir: Path, module: str, tasks: int) -> Iterator[tuple[int, ReadOnlyStore | None]]:
    """Each task's store read-only, None for a task that never opened (it has no store yet)."""
    for task in range(tasks):
        path = task_store_path(data_dir, module, task)
        yield task, ReadOnlyStore(path) if (path / "CURRENT").exists() else None


class DepotEnds:
    """The broker's end offset of every partition the workers consume, over the verifier's own session."""

    def __init__(self, storage: KafkaStorage, tasks: int) -> None:
        self._storage = storage
        self._tasks = tasks
        self._logs: dict[tuple[str, str], KafkaDepotLog] = {}

    async def end(self, source: SourcePartition, partitions: int) -> int:
        """The high watermark of `source`'s partition, asked of the broker now."""
        key = (source.depot_module, source.depot)
        if key not in self._logs:
            log = await self._storage.open_log(source.depot_module, source.depot, partitions)
            if not isinstance(log, KafkaDepotLog):
                raise TypeError(f"workers keep depots on Kafka, got {type(log).__name__}")
            self._logs[key] = log
        return await self._logs[key].refresh(source.partition)

    async def close(self) -> None:
        """Close the logs (the storage's session is closed by its owner)."""
        for log in self._logs.values():
            await log.close()


async def lagging(
    data_dir: Path, sources: list[SourcePartition], ends: DepotEnds, partition_counts: dict[tuple[str, str], int]
) -> list[str]:
    """Each source partition whose committed offset is not at the broker's end, described."""
    behind: list[str] = []
    for module in sorted({s.module for s in sources}):
        mine = [s for s in sources if s.module == module]
        tasks = max(s.task for s in mine) + 1
        for task, store in open_task_stores(data_dir, module, tasks):
            try:
                for source in (s for s in mine if s.task == task):
                    end = await ends.end(source, partition_counts[(source.depot_module, source.depot)])
                    raw = store.get(META_COLUMN, source.meta_key) if store is not None else None
                    committed = 0 if raw is None else int(msgpack.unpackb(raw))
                    if committed != end:
                        behind.append(
                            f"{module}/{source.topology} task {task} {source.depot}[{source.partition}]: "
                            f"committed {committed} of {end}"
                        )
            finally:
                if store is not None:
                    store.close()
    return behind


async def wait_settled(
    data_dir: Path, definitions: Sequence[ModuleDefinition], tasks: int, storage: KafkaStorage, timeout_s: float
) -> list[str]:
    """Poll (bounded) until every topology of every task consumed its sources to the end; the lag left, if any.

    Tick depots are left out: their owners keep appending while they run (the PState comparison, against
    a replay of every tick, covers them).
    """
    sources = source_partitions(definitions, tasks, ticks=False)
    counts = {(s.depot_module, s.depot): 0 for s in sources}
    for source in sources:
        key = (source.depot_module, source.depot)
        counts[key] = max(counts[key], source.partition + 1)
    ends = DepotEnds(storage, tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while True:
            try:
                behind = await lagging(data_dir, sources, ends, counts)
            except Exception as exc:  # rocksdict's bare Exception: a WAL read racing the writer; look again
                behind = [f"reading the stores failed: {exc}"]
            if not behind or loop.time() > deadline:
                return behind
            await asyncio.sleep(0.1)  # a bounded poll of progress, not a synchronizing wait
    finally:
        await ends.close()


async def read_depot(log: DepotLog) -> tuple[list[Any], list[str]]:
    """Every record of every partition of `log` in partition order, and any offset gap found."""
    records: list[Any] = []
    gaps: list[str] = []
    for partition in range(log.partitions):
        end, offset = log.durable_end(partition), 0
        while offset < end:
            entries = await log.read(partition, offset, READ_CHUNK)
            if not entries:
                gaps.append(f"partition {partition}: nothing readable at offset {offset} of {end}")
                break
            for entry in entries:
                if entry.offset != offset:
                    gaps.append(f"partition {partition}: offset {entry.offset} where {offset} was due")
                records.append(decode_record(entry.payload))
                offset = entry.offset + 1
    return records, gaps


def compare_pstates(data_dir: Path, replay: InProcessCluster, definitions: Sequence[ModuleDefinition]) -> list[str]:
    """Every PState of every task, byte for byte: the workers' stores against the replay's; the differences."""
    problems: list[str] = []
    for definition in definitions:
        runtime = replay.runtime(definition.name)
        for task, store in open_task_stores(data_dir, definition.name, runtime.tasks):
            try:
                for name in sorted(definition.pstate_specs()):
                    replayed = runtime.stores[task]
                    want = list(replayed.range(replayed.column(name)))
                    got = store.pairs(name) if store is not None else []
                    if got != want:
                        problems.append(_difference(definition.name, task, name, got, want))
            finally:
                if store is not None:
                    store.close()
    return problems


def pstate_sizes(replay: InProcessCluster, definitions: Sequence[ModuleDefinition]) -> dict[str, int]:
    """Keys per PState summed over tasks (the report says how much was compared)."""
    sizes: dict[str, int] = {}
    for definition in definitions:
        runtime = replay.runtime(definition.name)
        for name in sorted(definition.pstate_specs()):
            store_keys = (
                sum(1 for _ in runtime.stores[t].range(runtime.stores[t].column(name))) for t in runtime.owned
            )
            sizes[f"{definition.name}/{name}"] = sum(store_keys)
    return sizes


def _difference(
    module: str, task: int, name: str, got: list[tuple[bytes, bytes]], want: list[tuple[bytes, bytes]]
) -> str:
    got_map, want_map = dict(got), dict(want)
    missing = [k for k in want_map if k not in got_map]
    extra = [k for k in got_map if k not in want_map]
    changed = [k for k in want_map if k in got_map and got_map[k] != want_map[k]]
    return (
        f"{module} task {task} {name}: {len(got)} keys on the workers, {len(want)} replayed; "
        f"{len(missing)} missing, {len(extra)} extra, {len(changed)} with other values"
        f"{' (first: ' + repr((missing + extra + changed)[0]) + ')' if missing or extra or changed else ''}"
    )
