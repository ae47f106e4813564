"""The chaos test's two moving parts: `tusk worker` subprocesses, and a steady append load through `WorkerClient`.

Every append the load sends ends in exactly one of three sets: `acknowledged` (the worker answered: it is
in the depot), `unknown` (the connection or the owning task host went away after the request was sent: it
may be in the depot), `refused` (no worker took it before the failover bound: it is not in the depot).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from cluster.client import Ack
from cluster.workers.chaos_modules import ChaosModules
from cluster.workers.client import AppendOutcomeUnknownError, RoutingUnavailableError, WorkerClient
from pstates.errors import TuskError
from topology.context import RecordRejected

STOP_BOUND_S = 20.0


@dataclass
class WorkerProcess:
    """One `tusk worker` subprocess and the JSON events it printed on stdout."""

    name: str
    process: asyncio.subprocess.Process
    stderr: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def serving(self) -> set[int]:
        """The tasks of its latest `serving` event (empty before its first)."""
        served = [e["tasks"] for e in self.events if e.get("event") == "serving"]
        return set(served[-1]) if served else set()

    @property
    def alive(self) -> bool:
        """Whether the process has not exited."""
        return self.process.returncode is None

    async def read_events(self) -> None:
        """Collect its events until its stdout closes."""
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.events.append(json.loads(line))

    def kill(self) -> None:
        """SIGKILL it: no cleanup, its store locks go with the process."""
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM it (it leaves the group and closes its stores), SIGKILL it past the bound."""
        if self.alive:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_BOUND_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader


async def start_worker(
    broker_url: str, data: Path, name: str, modules: ChaosModules, tasks: int, session_timeout_ms: int
) -> WorkerProcess:
    """Start `python -m cluster.cli worker` against the shared data directory; its stderr goes to a file."""
    stderr = data.parent / f"{name}.stderr"
    command = [sys.executable, "-m", "cluster.cli", "worker", "--broker", broker_url, "--data", str(data)]
    command += ["--tasks", str(tasks), "--session-timeout-ms", str(session_timeout_ms)]
    for module in modules.worker_modules:
        command += ["--module", module]
    with stderr.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=sink, stdin=asyncio.subprocess.DEVNULL
        )
    worker = WorkerProcess(name, process, stderr)
    worker.reader = asyncio.get_running_loop().create_task(worker.read_events())
    return worker


@dataclass
class Load:
    """Appenders sending the module set's records one at a time each, paced to `rate` appends a second overall."""

    client: WorkerClient
    modules: ChaosModules
    seed: int
    rate: float
    acknowledged: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    acks: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, task) of each acknowledgement
    latencies: list[float] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _sent: int = 0
    _next_slot: float = 0.0

    async def run(self, appenders: int) -> None:
        """Append until `stopping` is set, with `appenders` requests in flight at most."""
        await asyncio.gather(*(self._appender() for _ in range(appenders)))

    def acked_on(self, tasks: set[int], after: float) -> list[float]:
        """Times of acknowledgements from `tasks` later than `after`."""
        return [at for at, task in self.acks if at > after and task in tasks]

    async def _appender(self) -> None:
        while not self.stopping.is_set():
            self._sent += 1
            n, now = self._sent, time.monotonic()
            slot = max(self._next_slot, now)  # no catch-up burst after a stall: the rate counts from now
            self._next_slot = slot + 1 / self.rate
            if slot > now:
                await asyncio.sleep(slot - now)  # pacing to the target rate, not a synchronization
            await self._append(n)

    async def _append(self, n: int) -> None:
        module, depot, record = self.modules.next_append(self.seed, n)
        ack = Ack.PROCESSED if n % 2 else Ack.APPENDED
        started = time.monotonic()
        try:
            result = await self.client.append(module, depot, record, ack)
        except RoutingUnavailableError:
            self.refused.add(n)  # every attempt was refused before anything was appended
            return
        except RecordRejected as exc:
            self.rejected.append(f"append {n} rejected: {exc}")
            return
        except (AppendOutcomeUnknownError, TuskError, aiohttp.ClientError, TimeoutError):
            self.unknown.add(n)  # sent, then the worker or its task host went away: maybe appended
            return
        now = time.monotonic()
        self.acknowledged.add(n)
        self.acks.append((now, result.partition % self.client.tasks))
        self.latencies.append(now - started)
        if self.modules.on_acknowledged is not None:
            await self.modules.on_acknowledged(self.client, n, result.value)
