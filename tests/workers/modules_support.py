"""Helpers of the Mastodon-on-workers tests: worker subprocesses hosting a module set, and a slice of behaviours."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cluster.client import ClusterClient
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import poll_until

CORE, RELATIONSHIPS, NOTIFICATIONS = "core", "relationships", "notifications"


async def start_worker(url: str, data: Path, name: str, module: str, tasks: int) -> WorkerProcess:
    """Start `tusk worker` hosting `module` on `tasks` tasks; its stderr goes to a file beside `data`."""
    return await launch_worker(url, data, name, "--module", module, "--tasks", str(tasks))


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
