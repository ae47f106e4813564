"""The `public_timelines` microbatch: public, non-boost statuses into per-task capped timelines.

A global timeline is one logical key, and one key lives on one task: written there, every status of the
instance would cross to that task and its writes would grow with the posting rate. Instead each task keeps
its own part of every timeline (the statuses of authors whose records it consumes, no hop), and a read
merges the tasks' newest pages (`queries`). Per task there are two timelines, `local` and `remote` (a
status whose Delivery carries a `domain`, i.e. from a federated account); the federated timeline is
their merge.

Bounded cost per microbatch: a part keeps only the newest `cap` ids, and ids are time-ordered, so of the
creates in one batch only the newest `cap` per timeline can survive; the others are never written. A batch
therefore writes at most `cap` entries + `cap` trims per timeline per task, plus one tombstone per delete
that hits an entry, whatever the posting rate.

Deletes turn the entry into a tombstone (`{"deleted": True}`) instead of removing it, so a tombstone keeps
its slot until trimmed: the kept ids are then exactly the newest `cap` created ones, however the records
were cut into batches, and a replay rebuilds the same bytes. Reads skip tombstones.

An entry is {"author", "reply" (a reply to someone else), "media" (has attachments), "language"}: what
the read-time filters (`only_media`, `with_replies`) need.
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key
from topology.context import Batch, BatchContext

TIMELINES = "$$public_statuses"
SCOPES = ("local", "remote")
TOMBSTONE: dict[str, Any] = {"deleted": True}


def scope_of(delivery: dict[str, Any]) -> str | None:
    """Return the timeline a created status belongs in, or None (not public, or a boost)."""
    if delivery.get("visibility") != "public" or delivery.get("reblog_of") is not None:
        return None
    return "remote" if delivery.get("domain") else "local"


def entry_of(delivery: dict[str, Any]) -> dict[str, Any]:
    """Return what a timeline keeps of a status for its read-time filters."""
    reply_to = delivery.get("reply_to")
    return {
        "author": delivery["author"],
        "reply": reply_to is not None and reply_to != delivery["author"],
        "media": bool(delivery.get("media")),
        "language": delivery.get("language"),
    }


class PublicTimelines:
    """The microbatch handler, keeping the newest `cap` entries per timeline per task."""

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def on_statuses(self, ctx: BatchContext, batch: Batch) -> None:
        """Add this batch's newest public statuses, tombstone deleted ones, trim each timeline to the cap."""
        creates: dict[str, list[tuple[int, dict[str, Any]]]] = {scope: [] for scope in SCOPES}
        deletes: list[int] = []
        for record in batch.values:
            op = record.get("op")
            if op == "create":
                scope = scope_of(record["status"])
                if scope is not None:
                    creates[scope].append((int(record["status"]["id"]), entry_of(record["status"])))
            elif op == "delete":
                deletes.append(int(record["id"]))
            # other ops (edits, later) do not change who is in a public timeline
        timelines = ctx.pstate(TIMELINES)
        for scope, entries in creates.items():
            key = task_key(scope, ctx.task, ctx.tasks, ctx.task_of)
            for status_id, entry in sorted(entries)[-self.cap :]:
                timelines.put(key, status_id, entry)
            for status_id in deletes:
                if timelines.contains(key, status_id):
                    timelines.put(key, status_id, TOMBSTONE)
            self.trim(timelines, key)

    def trim(self, timelines: Any, key: tuple[str, int]) -> None:
        """Drop the oldest entries of the timeline at `key` beyond the cap."""
        excess = int(timelines.size(key)) - self.cap
        if excess > 0:
            for status_id, _ in timelines.range(key, limit=excess):
                timelines.remove(key, status_id)
