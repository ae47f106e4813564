"""A stream group's new statuses, written to the author's task's sorted maps together at the group's end.

Each create adds three sorted-map rows on its author's task: `$$status_by_uuid` (author -> uuid -> id),
`$$author_statuses` (author -> id -> Delivery) and `$$created_threads` (this task's key -> id -> audience).
One by one, each row costs an existence read, a size read and two writes; kept here (`ctx.deferred`) and
written with one `put_many` per PState when the group ends, the reads are two multi-gets per PState for the
whole group. The rows are the same whatever the grouping (no time read at flush), so a replay that groups
records differently writes the same bytes.

Readers of those three PStates inside the statuses topology see pending rows either here (`created_id`:
a retried create in the same group) or by flushing first (`settle`: a delete, an edit, a reply to a status
of the same group), as the deferred contract asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from topology.context import StreamContext, TopologyContext

NAME = "core:new_statuses"


@dataclass(slots=True)
class NewStatuses:
    """The rows of the creates of one group on one task, in order."""

    ids_by_uuid: dict[tuple[int, str], int] = field(default_factory=dict)
    authored: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    threads: list[tuple[Any, int, list[Any]]] = field(default_factory=list)


def pending(ctx: TopologyContext) -> NewStatuses:
    """This task's new statuses of the current group, not written yet."""
    found: NewStatuses = ctx.deferred(NAME, NewStatuses, write)
    return found


def created_id(ctx: StreamContext, author: int, uuid: str) -> int | None:
    """The id of `author`'s status created for request `uuid`, pending in this group or stored, or None."""
    pending_id = pending(ctx).ids_by_uuid.get((author, uuid))
    if pending_id is not None:
        return pending_id
    stored = ctx.pstate("$$status_by_uuid").get(author, uuid)
    return None if stored is None else int(stored)


def add(ctx: StreamContext, uuid: str, delivery: dict[str, Any], thread_key: Any, audience: list[Any]) -> None:
    """Keep a new status' rows until the group ends (`write`)."""
    new = pending(ctx)
    author, status_id = delivery["author"], delivery["id"]
    new.ids_by_uuid[(author, uuid)] = status_id
    new.authored.append((author, status_id, delivery))
    new.threads.append((thread_key, status_id, audience))


def settle(ctx: TopologyContext) -> None:
    """Write every pending row now: call before reading `$$author_statuses` or `$$created_threads`."""
    ctx.flush_deferred()


def write(ctx: TopologyContext, new: NewStatuses) -> None:
    """Write a group's new statuses on their task (the deferred flush), one `put_many` per PState."""
    if not new.authored:
        return
    ctx.pstate("$$status_by_uuid").put_many([(a, u, i) for (a, u), i in new.ids_by_uuid.items()])
    ctx.pstate("$$author_statuses").put_many(new.authored)
    ctx.pstate("$$created_threads").put_many(new.threads)
