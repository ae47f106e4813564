"""Helpers shared by the relationships tests: launch the module, append its records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from depots.codec import decode_record
from modules.relationships import Relationships
from modules.relationships.events import expand
from tests.runtimes import new_cluster

MODULE = "relationships"


@asynccontextmanager
async def launched(
    path: Path, store_kind: str, tasks: int = 4, clock: FakeClock | None = None
) -> AsyncIterator[InProcessCluster]:
    """Yield a cluster on the active runtime running the relationships module."""
    async with new_cluster(path, store=store_kind, clock=clock or FakeClock()) as cluster:
        await cluster.launch(Relationships(), tasks=tasks)
        yield cluster


async def follow(cluster: InProcessCluster, follower: int, followee: int, **options: Any) -> None:
    """Append a follow and wait until it is processed."""
    await cluster.append(MODULE, "*follows", {"op": "follow", "follower": follower, "followee": followee, **options})


async def act(cluster: InProcessCluster, op: str, follower: int, followee: int) -> None:
    """Append an unfollow / authorize / reject / remove_follower and wait until it is processed."""
    await cluster.append(MODULE, "*follows", {"op": op, "follower": follower, "followee": followee})


async def set_locked(cluster: InProcessCluster, account: int, locked: bool) -> None:
    """Lock or unlock `account`."""
    await cluster.append(MODULE, "*account_settings", {"account": account, "locked": locked})


async def block(cluster: InProcessCluster, blocker: int, blocked: int, op: str = "block") -> None:
    """Block (or with `op="unblock"`, unblock)."""
    await cluster.append(MODULE, "*blocks", {"op": op, "blocker": blocker, "blocked": blocked})


async def follow_many(cluster: InProcessCluster, followers: range, followee: int) -> None:
    """Append a follow of `followee` by each of `followers` concurrently, then wait for all of them."""
    records = [{"op": "follow", "follower": f, "followee": followee} for f in followers]
    await asyncio.gather(*(cluster.append(MODULE, "*follows", r, ack=Ack.APPENDED) for r in records))
    await cluster.controls.wait_idle()


async def relationship(cluster: InProcessCluster, a: int, b: int, now_ms: int | None = None) -> dict[str, Any]:
    """The relationship of `a` towards `b`."""
    result: dict[str, Any] = await cluster.query(MODULE, "relationship", a, b, now_ms)
    return result


async def append(cluster: InProcessCluster, depot: str, record: dict[str, Any]) -> Any:
    """Append `record` to a relationships depot, wait until processed, and return the topology's value."""
    return (await cluster.append(MODULE, depot, record)).value


async def follow_events(cluster: InProcessCluster) -> list[tuple[int, dict[str, Any]]]:
    """Every record of `*follow_events` as `(partition, record)`, partitions in order, offsets in order."""
    runtime = cluster.runtime(MODULE)
    spec, log = runtime.depot("*follow_events")
    events: list[tuple[int, dict[str, Any]]] = []
    for partition in range(spec.partition_count(runtime.tasks)):
        for entry in await log.read(partition, 0, 100_000):
            events.append((partition, cast(dict[str, Any], decode_record(entry.payload))))
    return events


async def event_records(cluster: InProcessCluster) -> list[dict[str, Any]]:
    """The `*follow_events` records, one per pair (expanded), checking each sits in its followee's partition."""
    task_of = cluster.runtime(MODULE).task_of
    found = [(partition, event) for partition, record in await follow_events(cluster) for event in expand(record)]
    assert all(partition == task_of(record["followee"]) for partition, record in found)
    return [record for _, record in found]
