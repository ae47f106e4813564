"""One launched module on the embedded cluster: its task stores, depot logs, views and task globals."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import msgpack

from depots.declaration import DepotSpec, PartitionerKind
from depots.errors import UnknownDepotError
from depots.log import DepotLog
from pstates.errors import UnknownPStateError
from pstates.keycodec import Key, encode_key, partition_of
from pstates.page_cache import PageCache, shared_cache
from pstates.pstate import bind
from pstates.schema import PStateSpec
from pstates.store import KVStore
from topology.module import DepotRef, ModuleDefinition, TopologySpec

# The engine's own column in every task store: consumed offsets, batch ids, dead letters.
META_COLUMN = "_tusk/meta"

StoreFactory = Callable[[str, int], KVStore]


@dataclass(frozen=True, slots=True)
class RemoteHop:
    """A hop from task `source` to task `target` (owned by another process): run `step(payload)` there."""

    source: int
    target: int
    step: str
    payload: object


def offset_key(topology: str, depot_module: str, depot: str, partition: int) -> bytes:
    """Meta key of the next offset `topology` will consume from a depot partition."""
    return encode_key(("offset", topology, depot_module, depot, partition))


def batch_id_key(topology: str) -> bytes:
    """Meta key of the last microbatch id `topology` committed on a task."""
    return encode_key(("batch", topology))


def dead_letter_key(topology: str, depot_module: str, depot: str, partition: int, offset: int) -> bytes:
    """Meta key under which a record a stream topology gave up on is kept."""
    return encode_key(("dead", topology, depot_module, depot, partition, offset))


class ModuleRuntime:
    """Storage and routing of one module on one process: a store per task, a log per depot."""

    def __init__(
        self,
        definition: ModuleDefinition,
        tasks: int,
        directory: Path,
        open_task_store: StoreFactory,
        logs: dict[str, DepotLog],
        owned: Collection[int] | None = None,
        page_cache: PageCache | None = None,
    ) -> None:
        check_task_count(tasks)
        self.definition = definition
        self.name = definition.name
        self.tasks = tasks
        self.directory = directory
        # The tasks whose stores this process holds: all of them embedded, some on a worker.
        self.owned: list[int] = list(range(tasks)) if owned is None else sorted(owned)
        self.stores: dict[int, KVStore] = {t: open_task_store(self.name, t) for t in self.owned}
        self.meta = {task: store.column(META_COLUMN) for task, store in self.stores.items()}
        self.logs = logs  # one per declared depot, opened by the cluster's depot storage
        self._owners: dict[str, tuple[TopologySpec, PStateSpec]] = definition.pstate_specs()
        self.page_cache = shared_cache() if page_cache is None else page_cache
        self._watch_cached_pstates()
        self._committed_views: dict[int, dict[str, Any]] = {t: {} for t in self.owned}
        self._task_globals: dict[int, dict[str, Any]] = {t: {} for t in self.owned}
        self._random = random.Random(0)

    # -- routing ---------------------------------------------------------------------------------------

    def task_of(self, key: object) -> int:
        """The task owning `key`."""
        return partition_of(cast(Key, key), self.tasks)  # the codec rejects what is not a Key

    def depot(self, name: str) -> tuple[DepotSpec, DepotLog]:
        """The spec and log of depot `name`, or UnknownDepotError."""
        spec = self.definition.depots.get(name)
        if spec is None:
            known = ", ".join(sorted(self.definition.depots)) or "none"
            raise UnknownDepotError(f"module {self.name!r} has no depot {name!r} (it declares: {known})")
        return spec, self.logs[name]

    def partition_for(self, spec: DepotSpec, record: object, current_task: int | None) -> int:
        """Partition of `record` in depot `spec` (`current_task` is the appending task, for internal)."""
        partitions = spec.partition_count(self.tasks)
        kind = spec.partitioner.kind
        key_fn = spec.partitioner.key_fn
        if kind is PartitionerKind.GLOBAL:
            return 0
        if kind is PartitionerKind.RANDOM:
            return self._random.randrange(partitions)
        if key_fn is not None:
            return partition_of(cast(Key, key_fn(record)), partitions)
        return current_task % partitions if current_task is not None else 0

    def extra_sources(self, topology: TopologySpec) -> dict[DepotRef, Any]:
        """Sources a runtime adds to a topology's declared ones (a worker's hop topics); none embedded."""
        return {}

    def send_hop(self, round_: Any, topology: str, batch_id: int, time_ms: int, hop: RemoteHop) -> None:
        """Send a hop to a task this process does not own; embedded, every task is owned."""
        raise RuntimeError(f"task {hop.target} of module {self.name!r} is not owned here and nothing routes hops")

    # -- PStates ---------------------------------------------------------------------------------------

    def pstate_spec(self, name: str) -> tuple[TopologySpec, PStateSpec]:
        """The owning topology and spec of PState `name`, or UnknownPStateError."""
        found = self._owners.get(name)
        if found is None:
            known = ", ".join(sorted(self._owners)) or "none"
            raise UnknownPStateError(f"module {self.name!r} has no PState {name!r} (it declares: {known})")
        return found

    def _watch_cached_pstates(self) -> None:
        """Watch every PState declared with a page cache, on every store, before anything reads or writes them."""
        for name, (_, spec) in self._owners.items():
            if spec.page_cache:
                for store in self.stores.values():
                    store.watch_column(name, self.page_cache)

    def committed_view(self, task: int, name: str) -> Any:
        """Read-only view of PState `name` on `task`: committed state only."""
        views = self._committed_views[task]
        view = views.get(name)
        if view is None:
            _, spec = self.pstate_spec(name)
            view = views[name] = bind(spec, self.stores[task])
        return view

    def task_global(self, task: int, name: str, make_context: Callable[[int], Any]) -> Any:
        """Task global `name` on `task`, built by its factory on first use (and after every restart)."""
        globals_ = self._task_globals[task]
        if name not in globals_:
            spec = self.definition.task_globals.get(name)
            if spec is None:
                raise KeyError(f"module {self.name!r} has no task global {name!r}")
            globals_[name] = spec.factory(make_context(task))
        return globals_[name]

    # -- meta ------------------------------------------------------------------------------------------

    def committed_int(self, task: int, key: bytes, default: int = 0) -> int:
        """An integer the engine stored in `task`'s meta column."""
        raw = self.stores[task].get(self.meta[task], key)
        return default if raw is None else int(msgpack.unpackb(raw))

    async def close(self) -> None:
        """Flush the depot logs and close every store."""
        for log in self.logs.values():
            await log.close()
        for store in self.stores.values():
            store.close()


def check_task_count(tasks: int) -> None:
    """Refuse a task count that is not a power of two."""
    if tasks < 1 or tasks & (tasks - 1):
        raise ValueError(f"a module runs on a power-of-two number of tasks, got {tasks}")


def file_name_for(name: str) -> str:
    """A file-system-safe, collision-free folder or file name for a depot or topology name.

    `*statuses` becomes `statuses`; a name that needed other changes gets its CRC appended, so `*a!` and
    `*a?` do not share a folder.
    """
    stripped = name.lstrip("*")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stripped)
    if safe == stripped and safe not in ("", ".", ".."):
        return safe
    return f"{safe}-{zlib.crc32(name.encode()):08x}"
