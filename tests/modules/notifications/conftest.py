"""Fixtures for notifications tests: every behaviour runs on both store backends and both runtimes."""

from __future__ import annotations

import pytest

from tests.runtimes import Runtime


@pytest.fixture(params=["rocksdb", "memory"])
def store_kind(request: pytest.FixtureRequest, runtime: Runtime) -> str:
    """The PState backend under test, on each runtime (`runtime` makes the test's clusters use it)."""
    kind: str = request.param
    return kind
