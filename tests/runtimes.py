"""The runtimes the module suite runs on, and the one factory tests build their clusters with.

`embedded` keeps depots in segment logs in the data directory; `kafka` keeps them as topics of the session's
tansu broker, in a namespace derived from the data directory (so tests never share a depot, and a cluster
reopened on the same directory finds its topics again). PStates are RocksDB (or memory) stores either way.
`workers` runs the tasks on the distributed runtime's task hosts (`cluster.workers.local_cluster`: two
workers in the test process, static assignment, hops over topics, cross-task reads over RPC), with depots
and hop topics on the same broker; its stores are always RocksDB (a task host's).

The `runtime` fixture (`tests/conftest.py`) makes its runtime the active one for the test; helpers such as
`launched(...)` build clusters with `new_cluster`, so every test that uses them runs on every runtime.
Embedded and kafka run every such test; workers runs the module test files of `WORKERS_SUITES` in `make
test` (`TUSK_WORKERS_SUITES=0`: none; `TUSK_ALL_ON_WORKERS=1`: all of tests/modules). A test that cannot run
on workers calls `skip_on_workers(reason)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack, cast

import pytest

from cluster.clock import Clock
from cluster.inprocess import InProcessCluster
from cluster.workers.local_cluster import LocalWorkersCluster
from depots.log import FsyncPolicy
from pstates.page_cache import PageCache

RUNTIMES = ("embedded", "kafka", "workers")
BROKER_RUNTIMES = ("kafka", "workers")  # the runtimes that need the session's broker
ALL_ON_WORKERS_ENV = "TUSK_ALL_ON_WORKERS"  # "1": every module test runs on workers too
WORKERS_SUITES_ENV = "TUSK_WORKERS_SUITES"  # "0": no module test runs on workers (default: WORKERS_SUITES)

# The module test files `make test` runs on workers: per module, those whose behaviours cross tasks (hops,
# cross-task reads, PROCESSED across workers), ticks, restarts and replays (docs/kafka.md). Not every file:
# every module test on workers takes ~45 min on this shared machine, over the CI budget.
WORKERS_SUITES = frozenset(
    {
        "tests/modules/auth/test_auth.py",  # codes and tokens, looked up across tasks
        "tests/modules/core/test_fanout.py",  # fanout hops to followers' tasks; a retried microbatch's hops
        "tests/modules/core/test_polls.py",  # tick depots on the FakeClock, per task owner
        "tests/modules/core/test_restart.py",  # task hosts reopened on their stores and hop offsets
        "tests/modules/global_timelines/test_public_timelines.py",  # a mirror of core, and a continued replay
        "tests/modules/moderation/test_reports.py",
        "tests/modules/notifications/test_types.py",  # core's events hop to the notified account's task
        "tests/modules/relationships/test_follow_events.py",  # events on the followee's partition, via hops
        "tests/modules/relationships/test_mute_expiry.py",  # ticks
        "tests/modules/relationships/test_requests_blocks_mutes.py",  # both sides of a relationship, two tasks
        "tests/modules/search/test_search_interactions.py",  # three modules' hops, a continued replay
    }
)


class ClusterOptions(TypedDict, total=False):
    """What a test may set on a cluster besides its data directory (defaults: `InProcessCluster`'s)."""

    store: str
    clock: Clock | None
    fsync: FsyncPolicy
    depots_of: Path | None  # a cluster on another directory whose depots to use (a replay)
    page_cache: PageCache | None  # embedded only: task hosts use their process's shared page cache


@dataclass(frozen=True, slots=True)
class Runtime:
    """A runtime under test: `bootstrap` is the Kafka broker's address, None for the embedded segment logs."""

    name: str
    bootstrap: str | None = None

    def depots_url(self, data_dir: Path) -> str:
        """The depots URL of a cluster on `data_dir`: stable for the directory, distinct between directories."""
        if self.bootstrap is None:
            return f"segment://{data_dir.resolve()}"
        return f"kafka://{self.bootstrap}/{namespace_of(data_dir)}"

    def cluster(self, data_dir: Path, **options: Unpack[ClusterOptions]) -> InProcessCluster:
        """A cluster on `data_dir` whose depots are those of a cluster on `depots_of` (default: its own)."""
        if self.name == "workers":
            return self._workers_cluster(data_dir, **options)
        depots = self.depots_url(options.get("depots_of") or data_dir)
        return InProcessCluster(
            data_dir,
            store=options.get("store", "rocksdb"),
            clock=options.get("clock"),
            fsync=options.get("fsync", FsyncPolicy.ALWAYS),
            depots=depots,
            page_cache=options.get("page_cache"),
        )

    def _workers_cluster(self, data_dir: Path, **options: Unpack[ClusterOptions]) -> InProcessCluster:
        """Workers on `data_dir`: hop topics in its own namespace, depots in `depots_of`'s (a replay) or its own."""
        assert self.bootstrap is not None
        cluster = LocalWorkersCluster(
            data_dir,
            bootstrap=self.bootstrap,
            namespace=namespace_of(data_dir),
            depots_namespace=namespace_of(options.get("depots_of") or data_dir),
            clock=options.get("clock"),
        )
        # The module tests are typed against the embedded cluster; this one offers the part of it they use
        # (the client API, `controls`, `clock`, `runtime(module)`), over task hosts instead of one process.
        return cast(InProcessCluster, cluster)


def namespace_of(data_dir: Path) -> str:
    """The broker namespace of a cluster on `data_dir`: stable for the directory, distinct between them."""
    return "t" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


EMBEDDED = Runtime("embedded")
_active = [EMBEDDED]


@contextmanager
def running_on(runtime: Runtime) -> Iterator[Runtime]:
    """Make `runtime` the one `new_cluster` uses until the block ends."""
    _active.append(runtime)
    try:
        yield runtime
    finally:
        _active.pop()


def active_runtime() -> Runtime:
    """The runtime of the running test (embedded unless the test asked for the `runtime` fixture)."""
    return _active[-1]


def new_cluster(data_dir: Path, **options: Unpack[ClusterOptions]) -> InProcessCluster:
    """A cluster on the active runtime; see `Runtime.cluster`."""
    return active_runtime().cluster(data_dir, **options)


# Why a replay of the depots from offset 0 is not compared byte for byte on workers.
REPLAY_FROM_ZERO = (
    "a replay from offset 0 runs each task at its own pace, and topologies that read other tasks (an "
    "endorsement checks the follow) see them at other points than live did; embedded, one process interleaves "
    "the tasks' passes closely enough for these workloads (docs/engine.md, Determinism)"
)


def skip_on_workers(reason: str) -> None:
    """Skip the running test on the workers runtime, saying why it cannot run there."""
    if active_runtime().name == "workers":
        pytest.skip(f"not on workers: {reason}")
