"""Launching the discovery modules over real relationships and core, and comparing replayed PStates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cluster.inprocess import InProcessCluster
from cluster.runtime import ModuleRuntime
from cluster.testing import FakeClock
from modules.core import Core
from modules.relationships import Relationships
from tests.runtimes import new_cluster
from topology.module import Module

Dump = dict[tuple[int, str], list[tuple[bytes, bytes]]]


@asynccontextmanager
async def launched_with(
    path: Path,
    store_kind: str,
    *modules: Module,
    clock: FakeClock | None = None,
    tasks: int = 4,
    depots_of: Path | None = None,
) -> AsyncIterator[InProcessCluster]:
    """Yield a cluster running relationships, core, then `modules` (which mirror core).

    `depots_of`: read the depots of the cluster on that directory (a replay), on either runtime.
    """
    async with new_cluster(path, store=store_kind, clock=clock or FakeClock(), depots_of=depots_of) as cluster:
        await cluster.launch(Relationships(), tasks=tasks)
        await cluster.launch(Core(), tasks=tasks)
        for module in modules:
            await cluster.launch(module, tasks=tasks)
        yield cluster


def dump_pstates(runtime: ModuleRuntime) -> Dump:
    """Every PState column of every task of `runtime`, as raw bytes."""
    return {
        (task, name): list(store.range(store.column(name)))
        for task, store in runtime.stores.items()
        for name in runtime.definition.pstate_specs()
    }
