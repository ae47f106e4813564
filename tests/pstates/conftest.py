"""Fixtures that run every storage behaviour against every backend."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pstates.memory_store import MemoryStore
from pstates.rocksdb_store import RocksDBStore
from pstates.store import KVStore

BACKENDS = ["memory", "rocksdb"]
_names = itertools.count()

# Opens the test's store; call it again after `close()` to reopen the same data.
StoreOpener = Callable[[], KVStore]


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """Open (and reopen) one fresh store of each backend; close whatever was opened afterwards."""
    opened: list[KVStore] = []
    name = f"test-{next(_names)}"

    def opener() -> KVStore:
        store: KVStore = (
            MemoryStore.open(name) if request.param == "memory" else RocksDBStore.open(str(tmp_path / "db"))
        )
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()
    MemoryStore.forget(name)


@pytest.fixture
def store(open_store: StoreOpener) -> KVStore:
    """A fresh store of each backend."""
    return open_store()
