"""`tusk worker` subprocesses for the worker tests: started with their stderr in a file, their JSON events read."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STOP_BOUND_S = 10.0


@dataclass
class WorkerProcess:
    """A `tusk worker` subprocess and the JSON events it printed."""

    process: asyncio.subprocess.Process
    stderr: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def serving(self) -> set[int]:
        """The tasks of its latest `serving` event."""
        served = [e["tasks"] for e in self.events if e["event"] == "serving"]
        return set(served[-1]) if served else set()

    async def read_events(self) -> None:
        """Collect the events it prints, until its stdout closes."""
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.events.append(json.loads(line))

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL past the bound."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_BOUND_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader


async def launch_worker(url: str, data: Path, name: str, *options: str) -> WorkerProcess:
    """Start `tusk worker --broker url --data data [options]`; its stderr goes to `name.stderr` beside `data`."""
    stderr = data.parent / f"{name}.stderr"
    command = [sys.executable, "-m", "cluster.cli", "worker", "--broker", url, "--data", str(data), *options]
    with stderr.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=sink, stdin=asyncio.subprocess.DEVNULL
        )
    worker = WorkerProcess(process, stderr)
    worker.reader = asyncio.get_running_loop().create_task(worker.read_events())
    return worker
