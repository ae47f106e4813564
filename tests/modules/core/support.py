"""Helpers shared by the core tests: launch relationships + core, register, post, follow, read timelines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.contexts import EmbeddedReadContext
from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.core import Core
from modules.core.timelines import HomeTimelines
from modules.relationships import Relationships
from tests.runtimes import new_cluster

CORE = "core"
RELATIONSHIPS = "relationships"


class InjectedFailures:
    """How many more failures a flaky step of a test's module raises: one count shared by every copy of it.

    On the workers runtime each task host runs its own deep copy of the module (as each worker process
    does), so a plain int on the module would give every task a budget of its own and the test's instance
    none to check.
    """

    def __init__(self, count: int) -> None:
        self.left = count

    def __deepcopy__(self, _memo: dict[int, Any]) -> InjectedFailures:
        return self

    def take(self) -> bool:
        """Use up one failure if any is left; whether one was."""
        if not self.left:
            return False
        self.left -= 1
        return True


@asynccontextmanager
async def launched(
    path: Path, store_kind: str, tasks: int = 4, clock: FakeClock | None = None, core: Core | None = None
) -> AsyncIterator[InProcessCluster]:
    """Yield a cluster on the active runtime running relationships, then core (which mirrors it)."""
    async with new_cluster(path, store=store_kind, clock=clock or FakeClock()) as cluster:
        await cluster.launch(Relationships(), tasks=tasks)
        await cluster.launch(core or Core(), tasks=tasks)
        yield cluster


async def register(cluster: InProcessCluster, username: str, uuid: str | None = None, **profile: Any) -> int:
    """Register `username` and return its account id."""
    record = {"op": "register", "uuid": uuid or f"uuid-{username}", "username": username, **profile}
    result = await cluster.append(CORE, "*accounts", record)
    return int(result.value)


async def register_many(cluster: InProcessCluster, count: int, prefix: str = "user") -> list[int]:
    """Register `count` accounts concurrently and return their ids in order."""
    records = [{"op": "register", "uuid": f"{prefix}-{i}", "username": f"{prefix}{i}"} for i in range(count)]
    results = await asyncio.gather(*(cluster.append(CORE, "*accounts", r) for r in records))
    return [int(r.value) for r in results]


async def post(
    cluster: InProcessCluster, author: int, text: str = "hello", uuid: str | None = None, **fields: Any
) -> int:
    """Create a status and return its id (fanout is not awaited)."""
    record = {"op": "create", "author": author, "uuid": uuid or f"{author}-{text}", "text": text, **fields}
    result = await cluster.append(CORE, "*statuses", record)
    return int(result.value)


async def delete(cluster: InProcessCluster, author: int, status_id: int) -> None:
    """Delete a status."""
    await cluster.append(CORE, "*statuses", {"op": "delete", "author": author, "id": status_id})


async def follow(cluster: InProcessCluster, follower: int, followee: int, **options: Any) -> None:
    """Make `follower` follow `followee`."""
    record = {"op": "follow", "follower": follower, "followee": followee, **options}
    await cluster.append(RELATIONSHIPS, "*follows", record)


async def follow_all(cluster: InProcessCluster, followers: list[int], followee: int) -> None:
    """Make every one of `followers` follow `followee` (concurrent appends), then wait until idle."""
    records = [{"op": "follow", "follower": f, "followee": followee} for f in followers]
    await cluster.append_many(RELATIONSHIPS, "*follows", records, ack=Ack.APPENDED)
    await cluster.controls.wait_idle()


async def home(cluster: InProcessCluster, account: int, max_id: int | None = None, limit: int = 40) -> list[int]:
    """A page of `account`'s home timeline (rebuilt on first read)."""
    result: list[int] = await cluster.query(CORE, "home_timeline", account, max_id, limit)
    return result


def delivered(cluster: InProcessCluster, account: int) -> list[int]:
    """The ids fanout delivered to `account` in this process, newest first (no rebuild)."""
    runtime = cluster.runtime(CORE)
    task = runtime.task_of(account)
    timelines: HomeTimelines = runtime.task_global(
        task, "home_timelines", lambda t: EmbeddedReadContext(cluster, runtime, t)
    )
    return timelines.peek(account)
