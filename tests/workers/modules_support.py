"""Helpers of the Mastodon-on-workers tests: worker subprocesses hosting a module set, and a slice of behaviours."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.client import ClusterClient
from tests.workers.support import poll_until

STOP_BOUND_S = 10.0
CORE, RELATIONSHIPS, NOTIFICATIONS = "core", "relationships", "notifications"


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


async def start_worker(url: str, data: Path, name: str, module: str, tasks: int) -> WorkerProcess:
    """Start `tusk worker` hosting `module` on `tasks` tasks; its stderr goes to a file beside `data`."""
    stderr = data.parent / f"{name}.stderr"
    command = [sys.executable, "-m", "cluster.cli", "worker", "--broker", url, "--data", str(data)]
    command += ["--module", module, "--tasks", str(tasks)]
    with stderr.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=sink, stdin=asyncio.subprocess.DEVNULL
        )
    worker = WorkerProcess(process, stderr)
    worker.reader = asyncio.get_running_loop().create_task(worker.read_events())
    return worker


async def wait_split(workers: list[WorkerProcess], tasks: int) -> None:
    """Wait until the workers serve disjoint, non-empty task sets covering every task."""

    async def shares() -> list[set[int]]:
        return [w.serving for w in workers]

    def split(served: list[set[int]]) -> bool:
        union: set[int] = set().union(*served)
        return all(served) and sum(map(len, served)) == tasks and union == set(range(tasks))

    await poll_until(shares, split, 90, "the workers to share every task")


# -- the Mastodon slice ----------------------------------------------------------------------------------


async def register(client: ClusterClient, username: str) -> int:
    """Register `username`; return its account id."""
    record = {"op": "register", "uuid": f"uuid-{username}", "username": username}
    return int((await client.append(CORE, "*accounts", record)).value)


async def home(client: ClusterClient, account: int) -> list[int]:
    """A page of `account`'s home timeline (ids)."""
    found: list[int] = await client.query(CORE, "home_timeline", account, None, 40)
    return found


async def notifications_of(client: ClusterClient, account: int) -> list[tuple[str, int, int | None]]:
    """`account`'s notifications as (type, actor, status), newest first."""
    found = await client.query(NOTIFICATIONS, "notifications", account)
    return [(n["type"], n["account"], n["status"]) for n in found]


async def hydrated(client: ClusterClient, viewer: int, status_ids: list[int]) -> list[dict[str, Any]]:
    """`status_ids` hydrated for `viewer` (statuses, authors and counts from their owning tasks)."""
    found: list[dict[str, Any]] = await client.query(CORE, "statuses", viewer, status_ids)
    return found


async def timed(samples: list[float], call: Any) -> Any:
    """Await `call` and add its latency (s) to `samples`."""
    started = time.perf_counter()
    value = await call
    samples.append(time.perf_counter() - started)
    return value


def percentiles(samples: list[float]) -> str:
    """p50 and p99 of latencies in ms."""
    ordered = sorted(samples)
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms (n={len(ordered)})"
