"""Fixtures for the whole suite: the session's Kafka broker, and the runtime a test runs on."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.runtimes import (
    ALL_ON_WORKERS_ENV,
    BROKER_RUNTIMES,
    EMBEDDED,
    RUNTIMES,
    WORKERS_SUITES,
    WORKERS_SUITES_ENV,
    Runtime,
    running_on,
)
from tests.tansu import tansu_broker


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start tansu on a free loopback port on first use; yield its bootstrap address; stop it at the end."""
    with tansu_broker(tmp_path_factory.mktemp("tansu")) as bootstrap:
        yield bootstrap


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """Each runtime in turn, made active for the test so `tests.runtimes.new_cluster` builds on it."""
    name = str(request.param)
    chosen = EMBEDDED if name == "embedded" else Runtime(name, request.getfixturevalue("kafka_bootstrap"))
    with running_on(chosen):
        yield chosen


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the runtime variants the suite does not run (see `_deselected`)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    on_workers = _workers_files()
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        (dropped if _deselected(item.nodeid, params, on_workers) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _workers_files() -> frozenset[str] | None:
    """The module test files to run on workers: None for all of tests/modules (see tests/runtimes.py)."""
    if os.environ.get(ALL_ON_WORKERS_ENV) == "1":
        return None
    return frozenset() if os.environ.get(WORKERS_SUITES_ENV) == "0" else WORKERS_SUITES


def _deselected(nodeid: str, params: dict[str, object], on_workers: frozenset[str] | None) -> bool:
    """Whether to skip this variant: a broker runtime on memory stores, or workers outside the files asked for.

    Broker runtimes run on RocksDB stores only; the memory store is covered by the embedded runtime.
    Depots and PState stores are independent layers: Kafka x memory tested nothing the other three
    combinations do not, and cost ~30 s of the suite (measured: docs/kafka.md). A worker's task host
    always keeps its store in RocksDB, so workers x memory would run the RocksDB case again.

    Workers run the module test files of `WORKERS_SUITES` (`_workers_files`): every module test on workers
    costs more than the CI budget (tests/runtimes.py).
    """
    runtime = params.get("runtime")
    if runtime in BROKER_RUNTIMES and params.get("store_kind") == "memory":
        return True
    if runtime != "workers":
        return False
    path = nodeid.split("::", 1)[0]
    return not path.startswith("tests/modules/") or (on_workers is not None and path not in on_workers)
