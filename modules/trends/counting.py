"""The `trends` microbatch: statuses with ids -> hashtag timelines, time-bucketed counts, account tags.

    source   core's *statuses_with_id, on the author's task; optionally core's *interactions (favourites)
    steps    by_author   on the task owning the author: dedupe, account tags, then one hop per use
             count       on the task owning (kind, key): the hour and day buckets, the recent index
             count_favourite  on the task owning ("status", id): dedupe by favourite id, then count
             tag_status  on the task owning a tag: add to / remove from its hashtag timeline

What counts ("uses"): public and unlisted statuses that are not boosts count for their hashtags (kind
"tag") and links ("link"), with their author as the account; a boost of a public or unlisted status counts
for the boosted status (kind "status", key its id), with the booster as the account, and so does a
favourite of a public or unlisted status from `*interactions`, at the favourite's time (its "reblogged"
events are not counted: boosts already arrive as statuses; unfavourites, like deletes, leave the history).
Hashtag timelines hold public statuses only (Mastodon's TagFeed). Time is the status id's own
(`ids.time_of`), so buckets do not depend on when a batch ran.

Core's statuses topology is at-least-once, so a record may arrive twice: `$$status_marks` (author ->
status id -> what was counted) makes every use count once, `$$counted_favourites` every favourite, and
`$$status_marks` tells a delete what to undo (the account's
per-tag statuses count, the hashtag timelines; bucketed history, like Mastodon's, is never decremented).
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key, time_of
from modules.trends import sketch
from modules.trends.text import links
from topology.context import Batch, BatchContext

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
COUNTED = ("public", "unlisted")


def on_statuses(ctx: BatchContext, batch: Batch) -> None:
    """Send each create and delete to the task owning its author."""
    for record in batch.values:
        op = record.get("op")
        if op == "create":
            ctx.hop(record["status"]["author"], "by_author", record)
        elif op == "delete":
            ctx.hop(record["author"], "by_author", record)
        # other ops (edits, later) change no count


def on_interactions(ctx: BatchContext, batch: Batch) -> None:
    """Count each favourite of a public or unlisted status once for trending statuses (core's `*interactions`)."""
    for record in batch.values:
        if record.get("op") == "favourited" and record.get("visibility") in COUNTED:
            key = str(record["status"])
            # The favourite's own id tells when it happened: a batch's time depends on where the batch ends.
            use = {"kind": "status", "key": key, "account": record["account"], "time_ms": time_of(record["favourite"])}
            ctx.hop(("status", key), "count_favourite", {**use, "favourite": record["favourite"]})


def count_favourite(ctx: BatchContext, use: dict[str, Any]) -> None:
    """Count a favourite unless its id was counted already (a re-appended `favourited` event)."""
    counted = ctx.pstate("$$counted_favourites")
    key = ("status", use["key"])
    if counted.contains(key, use["favourite"]):
        return
    counted.add(key, use["favourite"])
    count(ctx, {k: use[k] for k in ("kind", "key", "account", "time_ms")})


def by_author(ctx: BatchContext, record: dict[str, Any]) -> None:
    """Count a new status once, or undo a deleted one's per-account counts and timeline entries."""
    marks = ctx.pstate("$$status_marks")
    if record["op"] == "delete":
        undo(ctx, record["author"], record["id"], marks.get(record["author"], record["id"]))
        return
    status = record["status"]
    if marks.contains(status["author"], status["id"]):
        return  # a duplicate of a record already counted
    mark = mark_of(status, record.get("text", ""))
    if mark is None:
        return
    marks.put(status["author"], status["id"], mark)
    time_ms = time_of(status["id"])
    for kind, key in uses_of(mark):
        ctx.hop((kind, key), "count", {"kind": kind, "key": key, "account": status["author"], "time_ms": time_ms})
    for tag in mark["tags"]:
        count_account_tag(ctx, status["author"], tag, 1, time_ms)
        if mark["public"]:
            entry = {"op": "add", "tag": tag, "id": status["id"], "local": not status.get("domain")}
            ctx.hop(tag, "tag_status", entry)


def mark_of(status: dict[str, Any], text: str) -> dict[str, Any] | None:
    """Return what a status counts for, or None when it counts for nothing."""
    if status.get("visibility") not in COUNTED:
        return None
    if status.get("reblog_of") is not None:
        return {"tags": [], "links": [], "boost_of": status["reblog_of"], "public": False}
    tags, urls = list(status.get("tags") or []), links(text)
    if not tags and not urls:
        return None
    return {"tags": tags, "links": urls, "boost_of": None, "public": status["visibility"] == "public"}


def uses_of(mark: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the (kind, key) pairs a marked status counts one use for."""
    uses = [("tag", tag) for tag in mark["tags"]] + [("link", url) for url in mark["links"]]
    if mark["boost_of"] is not None:
        uses.append(("status", str(mark["boost_of"])))
    return uses


def undo(ctx: BatchContext, author: int, status_id: int, mark: dict[str, Any] | None) -> None:
    """Forget a deleted status in the account's tag counts and the hashtag timelines (once)."""
    if mark is None or mark.get("deleted"):
        return
    ctx.pstate("$$status_marks").put(author, status_id, {**mark, "deleted": True})
    for tag in mark["tags"]:
        count_account_tag(ctx, author, tag, -1, None)
        if mark["public"]:
            ctx.hop(tag, "tag_status", {"op": "remove", "tag": tag, "id": status_id})


def count_account_tag(ctx: BatchContext, account: int, tag: str, delta: int, time_ms: int | None) -> None:
    """Add `delta` to the account's statuses with `tag`; a new status also moves its last use forward."""
    account_tags = ctx.pstate("$$account_tags")
    current = account_tags.get(account, tag) or {"statuses_count": 0, "last_status_at": None}
    last = current["last_status_at"]
    if time_ms is not None and (last is None or time_ms > last):
        last = time_ms
    account_tags.put(
        account, tag, {"statuses_count": max(0, current["statuses_count"] + delta), "last_status_at": last}
    )


def count(ctx: BatchContext, use: dict[str, Any]) -> None:
    """Add one use by one account to the hour and day buckets of (kind, key), and note it as recent."""
    key, time_ms = (use["kind"], use["key"]), use["time_ms"]
    hour, day = time_ms // HOUR_MS, time_ms // DAY_MS
    for name, bucket in (("$$hours", hour), ("$$days", day)):
        buckets = ctx.pstate(name)
        current = buckets.get(key, bucket) or {"uses": 0, "accounts": sketch.empty()}
        accounts = sketch.add(current["accounts"], [use["account"]])
        buckets.put(key, bucket, {"uses": current["uses"] + 1, "accounts": accounts})
    recent = task_key(use["kind"], ctx.task, ctx.tasks, ctx.task_of)
    ctx.pstate("$$recent").put(recent, (hour, use["key"]), True)


def tag_status(ctx: BatchContext, entry: dict[str, Any]) -> None:
    """Add a public status to, or remove it from, a hashtag timeline (on the tag's task)."""
    timeline = ctx.pstate("$$tag_statuses")
    if entry["op"] == "add":
        timeline.put(entry["tag"], entry["id"], {"local": entry["local"]})
    else:
        timeline.remove(entry["tag"], entry["id"])
