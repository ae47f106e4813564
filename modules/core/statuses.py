"""The `statuses` stream topology: create (idempotent by client uuid) and delete, on the author's task.

    $$status_by_uuid   author -> uuid -> id          on the author's task: a retried create returns the id
    $$author_statuses  author -> id -> Delivery      on the author's task: profile timelines, home rebuild
    $$statuses         id -> status | tombstone      on the id's task (a hop): what `hydrate` reads
    $$status_id_clock  ("statuses"[#source], salt) -> last id issued on that task from that source (`ids`)

A status is {"id", "author", "uuid", "text", "spoiler_text", "sensitive", "media" (ids), "visibility",
"in_reply_to", "in_reply_to_account", "conversation" (the id of its reply chain's root), "language",
"mentions", "tags", "poll" (None, or the status id: polls are keyed by it), "edited_at", "created_at"},
plus for a boost "reblog_of" and "reblog_author" (`boosts`); a deleted one becomes {"id", "author",
"deleted_at"}. `remove_status` is the one way out (delete, unreblog, the boosts of a deleted original),
and `status_effects` keeps reply counts and boost links in step with both. After the writes, the record
goes on to `*statuses_with_id` for the fanout microbatch. Threads, media, polls, edits and scheduled
statuses have their own files (`threads`, `media`, `polls`, `edits`, `scheduled`); `status_ops` routes
every op of `*statuses`.
"""

from __future__ import annotations

from typing import Any

from modules.core import attachments, media, polls, threads
from modules.core.delivery import delivery_of
from modules.core.ids import STATUS_CLOCK, STATUSES_SOURCE, issue_id
from modules.core.records import Limits, Record, check_id, check_status
from modules.core.status_effects import on_created, on_removed, on_stored
from modules.core.text import hashtags
from modules.core.tombstones import is_live as is_live  # re-exported: readers import it from here
from topology.context import RecordRejected, StreamContext, TopologyContext


def on_statuses(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Apply a create or delete record; return the status id."""
    op = record.get("op")
    if op == "create":
        return create(ctx, record, limits)
    if op == "delete":
        return delete(ctx, record)
    raise RecordRejected(f"unknown op {op!r}: expected 'create' or 'delete'")


def create(ctx: StreamContext, record: Record, limits: Limits, source: int = STATUSES_SOURCE) -> int:
    """Store a new status and pass it on to fanout, or return the id a retry of the same request got.

    Everything that can reject the record is checked before the first write (scheduled publication
    relies on it: it skips a create that became impossible and keeps its other writes). `source`: the
    depot the record came from, for its id (`modules.core.ids`).
    """
    fields = check_status(record, limits)
    author, uuid = fields["author"], fields["uuid"]
    existing = ctx.pstate("$$status_by_uuid").get(author, uuid)
    if existing is not None:
        return int(existing)
    if not ctx.pstate("$$accounts").contains(author):  # the author's account lives on this task
        raise RecordRejected(f"unknown account {author}", "not_found")
    reply_to, conversation = threads.parent_of(ctx, author, fields["in_reply_to"])
    poll = polls.check_poll(record.get("poll"), limits)
    media.check_attachable(ctx, author, fields["media"], None)
    status_id = issue_id(ctx, "statuses", STATUS_CLOCK, source)
    status = {
        "id": status_id,
        **fields,
        "tags": hashtags(fields["text"]),
        "in_reply_to_account": reply_to,
        "conversation": conversation or status_id,
        "poll": None if poll is None else status_id,
        "edited_at": None,
        "created_at": ctx.time_ms,
    }
    delivery = delivery_of(status, reply_to)
    ctx.pstate("$$status_by_uuid").put(author, uuid, status_id)
    threads.note_created(ctx, status)
    ctx.pstate("$$author_statuses").put(author, status_id, delivery)
    on_created(ctx, delivery)
    ctx.hop(status_id, "store_status", status)
    attachments.store(ctx, status, poll)
    created = {"op": "create", "status": delivery, "text": status["text"], "conversation": status["conversation"]}
    ctx.append("*statuses_with_id", created)
    return status_id


def delete(ctx: StreamContext, record: Record) -> int:
    """Remove the author's status: out of their timeline, a tombstone in `$$statuses`, then fanout."""
    author = check_id(record.get("author"), "author")
    status_id = check_id(record.get("id"), "id")
    if not remove_status(ctx, author, status_id):
        raise RecordRejected(f"account {author} has no status {status_id}", "not_found")
    return status_id


def remove_status(ctx: TopologyContext, author: int, status_id: int) -> bool:
    """Delete a status or boost on its author's task; return False if the author has no such status."""
    authored = ctx.pstate("$$author_statuses")
    delivery = authored.get(author, status_id)
    if delivery is None:
        return False
    authored.remove(author, status_id)
    on_removed(ctx, delivery)
    ctx.hop(status_id, "store_status", {"id": status_id, "author": author, "deleted_at": ctx.time_ms})
    attachments.release(ctx, author, status_id)
    deleted = {"op": "delete", "id": status_id, "author": author, "visibility": delivery["visibility"]}
    ctx.append("*statuses_with_id", deleted)
    return True


def store_status(ctx: TopologyContext, status: dict[str, Any]) -> None:
    """Write a status or its tombstone on the task owning its id (a retry writes the same value)."""
    statuses = ctx.pstate("$$statuses")
    current = statuses.get(status["id"])
    # A tombstone is final; a retried create must not undo an edit applied since (edits.apply_edit).
    if current is None or ("deleted_at" in status and "deleted_at" not in current):
        statuses.put(status["id"], status)
        on_stored(ctx, current, status)
