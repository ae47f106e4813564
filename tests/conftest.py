"""Fixtures for the whole suite: the session's Kafka broker, and the runtime a test runs on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtimes import BROKER_RUNTIMES, EMBEDDED, RUNTIMES, Runtime, running_on
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
    """Run the broker runtimes on RocksDB stores only; the memory store is covered by the embedded runtime.

    Depots and PState stores are independent layers: Kafka x memory tested nothing the other three
    combinations do not, and cost ~30 s of the suite (measured: docs/kafka.md). A worker's task host
    always keeps its store in RocksDB, so workers x memory would run the RocksDB case again.
    """
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        on_kafka_memory = params.get("runtime") in BROKER_RUNTIMES and params.get("store_kind") == "memory"
        (dropped if on_kafka_memory else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
