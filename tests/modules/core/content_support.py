"""Helpers for the content tests: edits, media, polls, votes, scheduled statuses, reading internal depots."""

from __future__ import annotations

from typing import Any

from cluster.inprocess import InProcessCluster
from depots.codec import decode_record
from tests.modules.core.support import CORE

MINUTE_MS = 60_000


async def edit(cluster: InProcessCluster, author: int, status_id: int, text: str, uuid: str, **fields: Any) -> int:
    """Edit a status and return its id."""
    record = {"op": "edit", "author": author, "id": status_id, "uuid": uuid, "text": text, **fields}
    result = await cluster.append(CORE, "*statuses", record)
    return int(result.value)


async def upload(cluster: InProcessCluster, account: int, uuid: str, **fields: Any) -> int:
    """Store media metadata and return the media id."""
    record = {"op": "create", "account": account, "uuid": uuid, "type": "image", "url": f"/m/{uuid}", **fields}
    result = await cluster.append(CORE, "*media", record)
    return int(result.value)


async def vote(cluster: InProcessCluster, account: int, poll: int, choices: list[int], uuid: str | None = None) -> int:
    """Vote on a poll (`uuid`: the vote's idempotency key, if any) and return its id."""
    record = {"op": "vote", "account": account, "poll": poll, "choices": choices}
    if uuid is not None:
        record["uuid"] = uuid
    result = await cluster.append(CORE, "*poll_votes", record)
    return int(result.value)


async def schedule(cluster: InProcessCluster, author: int, uuid: str, at_ms: int, **params: Any) -> int:
    """Schedule a status and return the scheduled id."""
    record = {"op": "schedule", "author": author, "uuid": uuid, "scheduled_at": at_ms, "params": params}
    result = await cluster.append(CORE, "*statuses", record)
    return int(result.value)


async def depot_records(cluster: InProcessCluster, depot: str) -> list[Any]:
    """Every record of one of core's depots (all partitions, in partition order)."""
    _, log = cluster.runtime(CORE).depot(depot)
    await log.flush()
    records: list[Any] = []
    for partition in range(log.partitions):
        records += [decode_record(entry.payload) for entry in await log.read(partition, 0, 1_000_000)]
    return records
