"""Fixtures for the end-to-end client suites: a real `tusk run` subprocess per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import TuskServer


@pytest.fixture(scope="module")
def tusk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TuskServer]:
    """A fresh `tusk run` on a free 127.0.0.1 port with its own data directory, stopped after the module."""
    with TuskServer(tmp_path_factory.mktemp("tusk") / "data") as server:
        yield server
