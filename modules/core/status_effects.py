"""What follows a status' creation or removal besides the status itself: threads, reply counts, boost links.

Statuses topology PStates kept here (all idempotent: sets and maps, never +1 counters):

    $$counted_replies        parent -> reply ids      on the parent's task; public and unlisted replies only
                                                      (Mastodon counts only distributable replies; `threads`'
                                                      `$$replies` holds every reply, for context)
    $$author_direct_statuses author -> direct ids     on the author's task; `statuses_count` leaves them out

Every status carries `conversation`: the id of the top of its reply chain (its own id for a status that
replies to nothing), copied from the parent at creation (`threads.parent_of`), so a conversation mute is
one set lookup.

`store_status` calls `on_stored` on the status' own task after writing a status or its tombstone, with
what was there before. A repeated hop (at-least-once) sees the same status already stored and repeats only
set writes. Steps run by name (`ctx.hop(key, "count_reply", ...)`), so this module imports no handler.
"""

from __future__ import annotations

from typing import Any

from topology.context import TopologyContext

COUNTED_REPLY_VISIBILITIES = ("public", "unlisted")


def thread_root(status: dict[str, Any]) -> int:
    """Return the thread a status belongs to (its own id when it starts one)."""
    return int(status.get("conversation") or status["id"])


def on_created(ctx: TopologyContext, delivery: dict[str, Any]) -> None:
    """Index a new status on its author's task (direct statuses are left out of `statuses_count`)."""
    if delivery["visibility"] == "direct":
        ctx.pstate("$$author_direct_statuses").add(delivery["author"], delivery["id"])


def on_removed(ctx: TopologyContext, delivery: dict[str, Any]) -> None:
    """Undo `on_created` and forget the author's boost link (on the author's task)."""
    author, status_id = delivery["author"], delivery["id"]
    ctx.pstate("$$author_direct_statuses").remove(author, status_id)
    original = delivery.get("reblog_of")
    if original is not None and ctx.pstate("$$boost_of").get(author, original) == status_id:
        ctx.pstate("$$boost_of").remove(author, original)


def on_stored(ctx: TopologyContext, previous: dict[str, Any] | None, status: dict[str, Any]) -> None:
    """Propagate a stored status or tombstone (on its own task): reply counts, reblog links, dead boosts."""
    if "deleted_at" not in status:
        if status.get("in_reply_to") is not None and status["visibility"] in COUNTED_REPLY_VISIBILITIES:
            ctx.hop(status["in_reply_to"], "count_reply", [status["in_reply_to"], status["id"], True])
        if status.get("reblog_of") is not None:
            link = {"original": status["reblog_of"], "boost": status["id"], "account": status["author"]}
            ctx.hop(status["reblog_of"], "add_reblog", link)
        return
    if previous is None or "deleted_at" in previous:
        return
    if previous.get("in_reply_to") is not None:
        ctx.hop(previous["in_reply_to"], "count_reply", [previous["in_reply_to"], previous["id"], False])
    if previous.get("reblog_of") is not None:
        link = {"original": previous["reblog_of"], "boost": previous["id"], "account": previous["author"]}
        ctx.hop(previous["reblog_of"], "remove_reblog", link)
    # Mastodon deletes the boosts of a deleted status: each on its booster's task.
    for boost_id, booster in ctx.pstate("$$reblogged_by").range(previous["id"]):
        ctx.hop(booster, "drop_boost", [booster, boost_id])


def count_reply(ctx: TopologyContext, payload: list[Any]) -> None:
    """Add or remove a reply in its parent's `$$counted_replies` (on the parent's task)."""
    parent, reply, present = payload
    replies = ctx.pstate("$$counted_replies")
    if present:
        replies.add(parent, reply)
    else:
        replies.remove(parent, reply)
