"""Scheduled statuses: schedule, reschedule, cancel, and publication by the tick at `scheduled_at`.

    {"op": "schedule", "author", "uuid", "scheduled_at": ms, "params": {create fields but author / uuid}}
    {"op": "reschedule", "author", "id", "scheduled_at": ms}
    {"op": "cancel_scheduled", "author", "id"}                   all on `*statuses` (the author's task)

Mastodon's rules (`ScheduledStatus`): `scheduled_at` more than 5 minutes ahead of the request, at most 300
scheduled statuses per account and 25 per UTC day (all three in `Limits`). The params are validated when
scheduled (text, visibility, poll, media ownership) and again at publication, where a create that has
become impossible (a reply whose parent is gone, media attached elsewhere since) is dropped with its entry.

    $$scheduled          author -> scheduled id -> {"id", "author", "uuid", "scheduled_at", "params"}
    $$scheduled_by_uuid  author -> uuid -> scheduled id                     retried schedule requests
    $$scheduled_due      ("scheduled", salt) -> (scheduled_at, scheduled id) -> author   one key per task

All on the author's task. Publication runs in the `statuses` topology on the `*content_tick` tick of that
task: each due entry goes through the ordinary create path with the uuid `scheduled:<id>` and leaves both
indexes in the same commit, so it is published once (a reprocessed tick finds the create done by uuid).
"""

from __future__ import annotations

import contextlib
from typing import Any

from modules.core import media, polls
from modules.core.account_lists import page_rows
from modules.core.ids import STATUS_CLOCK, TICK_SOURCE, issue_id, task_key
from modules.core.records import Limits, Record, check_id, check_status, check_uuid
from modules.core.statuses import create
from topology.context import ReadContext, RecordRejected, StreamContext

DAY_MS = 86_400_000


def schedule(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Keep a status to publish later; return the scheduled id (a retry returns the same one)."""
    author = check_id(record.get("author"), "author")
    uuid = check_uuid(record.get("uuid"), limits)
    existing = ctx.pstate("$$scheduled_by_uuid").get(author, uuid)
    if existing is not None:
        return int(existing)
    params = check_params(ctx, author, record.get("params"), limits)
    at = check_time(ctx, author, record.get("scheduled_at"), None, limits)
    if not ctx.pstate("$$accounts").contains(author):
        raise RecordRejected(f"unknown account {author}", "not_found")
    scheduled_id = issue_id(ctx, "scheduled", STATUS_CLOCK)
    entry = {"id": scheduled_id, "author": author, "uuid": uuid, "scheduled_at": at, "params": params}
    ctx.pstate("$$scheduled_by_uuid").put(author, uuid, scheduled_id)
    ctx.pstate("$$scheduled").put(author, scheduled_id, entry)
    ctx.pstate("$$scheduled_due").put(_due_key(ctx), (at, scheduled_id), author)
    return scheduled_id


def reschedule(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Move a scheduled status to another time; return its id."""
    author, entry = _entry(ctx, record)
    at = check_time(ctx, author, record.get("scheduled_at"), entry["id"], limits)
    due = ctx.pstate("$$scheduled_due")
    due.remove(_due_key(ctx), (entry["scheduled_at"], entry["id"]))
    due.put(_due_key(ctx), (at, entry["id"]), author)
    ctx.pstate("$$scheduled").put(author, entry["id"], {**entry, "scheduled_at": at})
    return int(entry["id"])


def cancel(ctx: StreamContext, record: Record) -> int:
    """Drop a scheduled status; return its id."""
    _, entry = _entry(ctx, record)
    _forget(ctx, entry)
    return int(entry["id"])


def publish_due(ctx: StreamContext, now_ms: int, limits: Limits) -> None:
    """Publish every entry of this task whose time has come, through the create path, exactly once."""
    due, key = ctx.pstate("$$scheduled_due"), _due_key(ctx)
    for (at, scheduled_id), author in due.range(key, None, (now_ms + 1, 0)):
        due.remove(key, (at, scheduled_id))
        entry = ctx.pstate("$$scheduled").get(author, scheduled_id)
        if entry is None:
            continue
        ctx.pstate("$$scheduled").remove(author, scheduled_id)
        record = {**entry["params"], "op": "create", "author": author, "uuid": f"scheduled:{scheduled_id}"}
        # A create that became impossible is dropped with its entry (it rejects before writing anything).
        with contextlib.suppress(RecordRejected):
            create(ctx, record, limits, TICK_SOURCE)


def check_params(ctx: StreamContext, author: int, params: object, limits: Limits) -> Record:
    """Return the create fields of a scheduled status, checked as a create would check them."""
    if not isinstance(params, dict):
        raise RecordRejected("params must be a dict of create fields")
    params = {k: v for k, v in params.items() if k not in ("op", "author", "uuid")}
    fields = check_status({**params, "author": author, "uuid": "scheduled"}, limits)
    polls.check_poll(params.get("poll"), limits)
    media.check_attachable(ctx, author, fields["media"], None)
    return params


def check_time(ctx: StreamContext, author: int, value: object, moving: int | None, limits: Limits) -> int:
    """Return a valid `scheduled_at`: far enough ahead, within the total and daily limits."""
    if type(value) is not int:
        raise RecordRejected(f"scheduled_at must be a time in ms, got {value!r}")
    if value <= ctx.time_ms + limits.schedule_min_ahead_ms:
        raise RecordRejected(f"scheduled_at must be more than {limits.schedule_min_ahead_ms // 60_000} minutes ahead")
    entries = [e for _, e in ctx.pstate("$$scheduled").range(author) if e["id"] != moving]
    if moving is None and len(entries) >= limits.scheduled_total:
        raise RecordRejected(f"at most {limits.scheduled_total} statuses can be scheduled", "limit")
    same_day = [e for e in entries if e["scheduled_at"] // DAY_MS == value // DAY_MS]
    if len(same_day) >= limits.scheduled_daily:
        raise RecordRejected(f"at most {limits.scheduled_daily} statuses can be scheduled for one day", "limit")
    return value


def scheduled_statuses(
    ctx: ReadContext,
    author: int,
    max_id: int | None = None,
    limit: int = 20,
    since_id: int | None = None,
    min_id: int | None = None,
) -> list[dict[str, Any]]:
    """Return `author`'s scheduled statuses between the id bounds, newest id first (routed by author)."""
    return [entry for _, entry in page_rows(ctx.pstate("$$scheduled"), author, max_id, since_id, min_id, limit)]


def scheduled_status(ctx: ReadContext, author: int, scheduled_id: int) -> dict[str, Any] | None:
    """Return one of `author`'s scheduled statuses, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$scheduled").get(author, scheduled_id)
    return found


def _entry(ctx: StreamContext, record: Record) -> tuple[int, Record]:
    author = check_id(record.get("author"), "author")
    scheduled_id = check_id(record.get("id"), "id")
    entry = ctx.pstate("$$scheduled").get(author, scheduled_id)
    if entry is None:
        raise RecordRejected(f"account {author} has no scheduled status {scheduled_id}", "not_found")
    return author, entry


def _forget(ctx: StreamContext, entry: Record) -> None:
    ctx.pstate("$$scheduled").remove(entry["author"], entry["id"])
    ctx.pstate("$$scheduled_due").remove(_due_key(ctx), (entry["scheduled_at"], entry["id"]))


def _due_key(ctx: StreamContext) -> tuple[str, int]:
    return task_key("scheduled", ctx.task, ctx.tasks, ctx.task_of)
