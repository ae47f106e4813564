"""Helpers for the list, followed-tag and block / mute fanout tests: relationships records and list reads."""

from __future__ import annotations

from typing import Any

from cluster.contexts import EmbeddedReadContext
from cluster.inprocess import InProcessCluster
from modules.core.list_timelines import ListTimelines
from tests.modules.core.support import CORE, RELATIONSHIPS


async def create_list(cluster: InProcessCluster, owner: int, title: str, **settings: Any) -> int:
    """Create a list of `owner` (settings: replies_policy, exclusive) and return its id."""
    record = {"op": "list_create", "owner": owner, "uuid": f"{owner}-{title}", "title": title, **settings}
    result = await cluster.append(RELATIONSHIPS, "*follows", record)
    return int(result.value)


async def add_to_list(cluster: InProcessCluster, owner: int, list_id: int, *members: int) -> None:
    """Add `members` (accounts `owner` follows) to the list."""
    record = {"op": "list_add", "owner": owner, "list_id": list_id, "accounts": list(members)}
    await cluster.append(RELATIONSHIPS, "*follows", record)


async def delete_list(cluster: InProcessCluster, owner: int, list_id: int) -> None:
    """Delete a list."""
    await cluster.append(RELATIONSHIPS, "*follows", {"op": "list_delete", "owner": owner, "list_id": list_id})


async def follow_tag(cluster: InProcessCluster, account: int, tag: str) -> None:
    """Make `account` follow hashtag `tag`."""
    await cluster.append(RELATIONSHIPS, "*followed_tags", {"op": "follow", "account": account, "tag": tag})


async def block(cluster: InProcessCluster, blocker: int, blocked: int, op: str = "block") -> None:
    """Block (or with `op="unblock"`, unblock) an account."""
    await cluster.append(RELATIONSHIPS, "*blocks", {"op": op, "blocker": blocker, "blocked": blocked})


async def mute(cluster: InProcessCluster, muter: int, muted: int, op: str = "mute", **options: Any) -> None:
    """Mute (or with `op="unmute"`, unmute) an account; options: duration_s, notifications."""
    await cluster.append(RELATIONSHIPS, "*mutes", {"op": op, "muter": muter, "muted": muted, **options})


async def list_page(
    cluster: InProcessCluster, owner: int, list_id: int, max_id: int | None = None, limit: int = 40, **paging: Any
) -> list[int] | None:
    """A page of a list timeline (rebuilt on first read), or None if `owner` has no such list."""
    result: list[int] | None = await cluster.query(CORE, "list_timeline", owner, list_id, max_id, limit, **paging)
    return result


def list_timelines(cluster: InProcessCluster, task: int) -> ListTimelines:
    """The list timelines task global of core task `task`."""
    runtime = cluster.runtime(CORE)
    found: ListTimelines = runtime.task_global(
        task, "list_timelines", lambda t: EmbeddedReadContext(cluster, runtime, t)
    )
    return found


def list_delivered(cluster: InProcessCluster, list_id: int) -> list[int]:
    """The ids fanout delivered to list `list_id` in this process, newest first (no rebuild)."""
    return list_timelines(cluster, cluster.runtime(CORE).task_of(list_id)).peek(list_id)


def list_deliveries(cluster: InProcessCluster, tasks: int = 4) -> int:
    """How many ids were inserted into list timelines on every task in this process."""
    return sum(list_timelines(cluster, task).deliveries for task in range(tasks))
