"""Fixtures of the Kafka tests: tansu on SeaweedFS, shared by the restart and fault tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tansu import DurableTansu, durable_tansu


@pytest.fixture(scope="session")
def durable_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DurableTansu]:
    """tansu on SeaweedFS S3 (started on first use); tests kill and restart it, each in its own namespace."""
    with durable_tansu(tmp_path_factory.mktemp("durable-tansu")) as broker:
        yield broker
