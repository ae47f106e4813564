"""Fixtures for global_timelines tests: every behaviour runs on both store backends."""

from __future__ import annotations

import pytest

from tests.runtimes import Runtime


@pytest.fixture(params=["rocksdb", "memory"])
def store_kind(request: pytest.FixtureRequest, runtime: Runtime) -> str:
    """The PState backend under test."""
    kind: str = request.param
    return kind
