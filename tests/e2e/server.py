"""A real `tusk run` subprocess on a free loopback port, started as `make run` starts it, stopped for sure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

READY_SECONDS = 60.0  # a cold start (RocksDB, modules, demo accounts with scrypt) takes ~3 s on 2 cores
STOP_SECONDS = 15.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tusk_command() -> list[str]:
    """Return the `tusk` entry point of the running interpreter's environment (what `make run` calls)."""
    script = Path(sys.executable).parent / "tusk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cluster.cli"]


class TuskServer:
    """`tusk run --host 127.0.0.1 --port <free> --data <dir>` as a context manager; logs go to `<dir>.log`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.with_name(data_dir.name + ".log")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> TuskServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and return once `/api/v1/instance` answers 200."""
        # A client suite makes more requests and sign-ups from one address than Mastodon's limits allow
        # a person: loopback is exempt here only (`tusk run` itself throttles every address).
        address = ["--host", "127.0.0.1", "--port", str(self.port), "--rate-limit-exempt", "127.0.0.0/8"]
        command = [*tusk_command(), "run", *address, "--data", str(self.data_dir)]
        with self.log_path.open("wb") as log:
            # Its own session, so a stop reaches any child it may have and nothing of ours.
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server: SIGTERM (it shuts down cleanly), SIGKILL after a bound."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)

    def log_tail(self, chars: int = 4_000) -> str:
        """Return the end of the server's log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"tusk run exited before it was ready:\n{self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.1)  # polling a subprocess: there is no event to wait on
        raise TimeoutError(f"tusk run not ready within {READY_SECONDS} s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/v1/instance", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
