"""Session fixtures of the API tests: a real S3-compatible server for the media stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.s3_server import S3Server, running_s3


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """Start SeaweedFS on free loopback ports for the session; stop it at the end."""
    with running_s3(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
