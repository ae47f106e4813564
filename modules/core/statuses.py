"""The `statuses` stream topology: create (idempotent by client uuid) and delete, on the author's task.

    $$status_by_uuid   author -> uuid -> id          on the author's task: a retried create returns the id
    $$author_statuses  author -> id -> Delivery      on the author's task: profile timelines, home rebuild
    $$statuses         id -> status | tombstone      on the id's task (a hop): what `hydrate` reads
    $$status_id_clock  ("statuses", salt) -> last id issued on that task (`ids.task_key`)

A status is {"id", "author", "uuid", "text", "visibility", "in_reply_to", "in_reply_to_account",
"language", "mentions", "tags", "created_at"}; a deleted one becomes {"id", "author", "deleted_at"}. After the
writes, the record goes on to `*statuses_with_id` for the fanout microbatch.
"""

from __future__ import annotations

from typing import Any

from modules.core.accounts import issue_id
from modules.core.delivery import delivery_of
from modules.core.records import Limits, Record, check_id, check_status
from modules.core.text import hashtags
from topology.context import RecordRejected, StreamContext, TopologyContext


def on_statuses(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Apply a create or delete record; return the status id."""
    op = record.get("op")
    if op == "create":
        return create(ctx, record, limits)
    if op == "delete":
        return delete(ctx, record)
    raise RecordRejected(f"unknown op {op!r}: expected 'create' or 'delete'")


def create(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Store a new status and pass it on to fanout, or return the id a retry of the same request got."""
    fields = check_status(record, limits)
    author, uuid = fields["author"], fields["uuid"]
    existing = ctx.pstate("$$status_by_uuid").get(author, uuid)
    if existing is not None:
        return int(existing)
    if not ctx.pstate("$$accounts").contains(author):  # the author's account lives on this task
        raise RecordRejected(f"unknown account {author}")
    reply_to = parent_author(ctx, fields["in_reply_to"])
    status_id = issue_id(ctx, "statuses", "$$status_id_clock")
    status = {
        "id": status_id,
        **fields,
        "tags": hashtags(fields["text"]),
        "in_reply_to_account": reply_to,
        "created_at": ctx.time_ms,
    }
    delivery = delivery_of(status, reply_to)
    ctx.pstate("$$status_by_uuid").put(author, uuid, status_id)
    ctx.pstate("$$author_statuses").put(author, status_id, delivery)
    ctx.hop(status_id, "store_status", status)
    ctx.append("*statuses_with_id", {"op": "create", "status": delivery, "text": status["text"]})
    return status_id


def delete(ctx: StreamContext, record: Record) -> int:
    """Remove the author's status: out of their timeline, a tombstone in `$$statuses`, then fanout."""
    author = check_id(record.get("author"), "author")
    status_id = check_id(record.get("id"), "id")
    delivery = ctx.pstate("$$author_statuses").get(author, status_id)
    if delivery is None or not ctx.pstate("$$author_statuses").remove(author, status_id):
        raise RecordRejected(f"account {author} has no status {status_id}")
    ctx.hop(status_id, "store_status", {"id": status_id, "author": author, "deleted_at": ctx.time_ms})
    deleted = {"op": "delete", "id": status_id, "author": author, "visibility": delivery["visibility"]}
    ctx.append("*statuses_with_id", deleted)
    return status_id


def parent_author(ctx: StreamContext, parent_id: int | None) -> int | None:
    """Return the author of the status replied to, rejecting a reply to an unknown or deleted one."""
    if parent_id is None:
        return None
    parent = ctx.query("core", "status", parent_id)
    if parent is None:
        raise RecordRejected(f"unknown status {parent_id}")
    return int(parent["author"])


def store_status(ctx: TopologyContext, status: dict[str, Any]) -> None:
    """Write a status or its tombstone on the task owning its id (a retry writes the same value)."""
    statuses = ctx.pstate("$$statuses")
    current = statuses.get(status["id"])
    if current is None or "deleted_at" not in current:  # a tombstone is final
        statuses.put(status["id"], status)


def is_live(status: dict[str, Any] | None) -> bool:
    """Whether a `$$statuses` value is a status, not a tombstone or a miss."""
    return status is not None and "deleted_at" not in status
