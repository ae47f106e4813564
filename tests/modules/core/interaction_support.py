"""Helpers for the boost / favourite / bookmark / pin / mute tests: act on statuses, read events and cards."""

from __future__ import annotations

from typing import Any

from cluster.inprocess import InProcessCluster
from depots.codec import decode_record
from tests.modules.core.support import CORE

DEPOT_OF = {
    "reblog": "*reblogs",
    "unreblog": "*reblogs",
    "favourite": "*favourites",
    "unfavourite": "*favourites",
    "bookmark": "*bookmarks",
    "unbookmark": "*bookmarks",
    "pin": "*pins",
    "unpin": "*pins",
    "mute": "*conversation_mutes",
    "unmute": "*conversation_mutes",
}


async def act(cluster: InProcessCluster, op: str, account: int, status: int, **fields: Any) -> Any:
    """Append `op` by `account` on `status` to its depot and return the topology's answer."""
    record = {"op": op, "account": account, "status": status, **fields}
    result = await cluster.append(CORE, DEPOT_OF[op], record)
    return result.value


async def events(cluster: InProcessCluster) -> list[dict[str, Any]]:
    """Every record on core's internal `*interactions` depot, partition by partition."""
    runtime = cluster.runtime(CORE)
    log = runtime.logs["*interactions"]
    out: list[dict[str, Any]] = []
    for partition in range(log.partitions):
        for entry in await log.read(partition, 0, 10_000):
            record = decode_record(entry.payload)
            assert isinstance(record, dict)
            out.append(record)
    return out


async def cards(
    cluster: InProcessCluster, viewer: int | None, ids: list[int], now_ms: int | None = None
) -> list[dict[str, Any]]:
    """The hydrate query's answer for `viewer`."""
    found: list[dict[str, Any]] = await cluster.query(CORE, "statuses", viewer, ids, now_ms)
    return found


async def card(cluster: InProcessCluster, viewer: int | None, status_id: int) -> dict[str, Any]:
    """The one hydrated status `status_id` (it must be visible to `viewer`)."""
    found = await cards(cluster, viewer, [status_id])
    assert [c["id"] for c in found] == [status_id]
    return found[0]


async def append_again(cluster: InProcessCluster, module: str, depot: str, wanted: dict[str, Any]) -> None:
    """Append a copy of the first record of `depot` that contains `wanted`, as a retried round would."""
    _, log = cluster.runtime(module).depot(depot)
    for partition in range(log.partitions):
        for entry in await log.read(partition, 0, 10_000):
            record = decode_record(entry.payload)
            if isinstance(record, dict) and wanted.items() <= record.items():
                await log.append(partition, entry.payload, cluster.clock.now_ms() + 5).durable
                await cluster.controls.wait_idle()
                return
    raise AssertionError(f"no record with {wanted} in {module}/{depot}")
