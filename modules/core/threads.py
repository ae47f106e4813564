"""Threads: every status' conversation id, the replies index and Mastodon's context (ancestors, descendants).

    $$replies          parent id -> sorted set of reply ids      on the parent's task (step `store_reply`)
    $$created_threads  ("created", salt) -> status id -> [author, conversation, visibility, mentions]
                                                                 on the creating task

A new thread's conversation id is its first status' id; a reply inherits its parent's, so the id is
decided on the author's task from the parent's committed status and is the same under replay. A reply to
an unknown or deleted status, or to one its author may not see (Mastodon's `StatusPolicy#show?`: a private
status of someone they do not follow, a direct one not addressed to them, the author blocks them), is
refused as not found before anything is written: Mastodon answers 404 and does not reveal it exists.

A parent created in the same stream group as its reply (a replay, or a client that knows the id early) is
not committed when the reply is processed: `$$created_threads`, on the task that created it, answers then
(both records come from one partition, so one task), with the parent's audience for the same check.

`context(viewer, id)` follows Mastodon's `StatusThreadingConcern`: ancestors walk up `in_reply_to` (up to a
bound) and come oldest first, a deleted ancestor ending the walk; descendants are the reply tree in
depth-first order, each node's replies oldest first, bounded in count and depth. Both leave out what the
viewer may not see (`can_see`, Mastodon's `StatusPolicy#show?` without blocks, which hydration filters).
"""

from __future__ import annotations

from typing import Any

from modules.core import visibility
from modules.core.ids import task_key
from modules.core.tombstones import is_live
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

ANCESTORS_LIMIT = 40  # Mastodon's bounds for a signed-out reader; the API may pass 4,096 for a user
DESCENDANTS_LIMIT = 60
DESCENDANTS_DEPTH = 20
CREATED = "created"
Status = dict[str, Any]


def parent_of(ctx: StreamContext, replier: int, parent_id: int | None) -> tuple[int | None, int | None]:
    """Return the (author, conversation) of the status `replier` replies to; reject one they cannot see."""
    if parent_id is None:
        return None, None
    parent = ctx.query("core", "status", parent_id)
    if parent is None:
        parent = created_here(ctx, parent_id)  # a parent created in this very group is not committed yet
    if parent is None or not may_reply(ctx, replier, parent):
        raise RecordRejected(f"unknown status {parent_id}", "not_found")
    return int(parent["author"]), int(parent.get("conversation") or parent_id)


def may_reply(ctx: StreamContext, replier: int, parent: Status) -> bool:
    """Whether `replier` may see `parent` (by its visibility, mentions and the author's blocks)."""
    author = int(parent["author"])
    relation = visibility.relation(ctx, replier, author, ctx.time_ms)
    return visibility.can_see(parent, replier, relation)


def note_created(ctx: StreamContext, status: Status) -> None:
    """Remember a new status' author, conversation and audience on the task that created it (`created_here`)."""
    key = task_key(CREATED, ctx.task, ctx.tasks, ctx.task_of)
    value = [status["author"], status["conversation"], status["visibility"], status["mentions"]]
    ctx.pstate("$$created_threads").put(key, status["id"], value)


def created_here(ctx: StreamContext, status_id: int) -> Status | None:
    """Return {"id", "author", "conversation", "visibility", "mentions"} of a live status this task created.

    Reads see this group's writes only on this task: the status itself is written on its id's task by a
    hop, uncommitted until the group commits, but its author's records (and a reply in the same group)
    are processed here. Entries written before the audience was kept count as public.
    """
    found = ctx.pstate("$$created_threads").get(task_key(CREATED, ctx.task, ctx.tasks, ctx.task_of), status_id)
    if found is None:
        return None
    author, conversation = int(found[0]), int(found[1])
    if not ctx.pstate("$$author_statuses").contains(author, status_id):  # deleted since
        return None
    audience = found[2:4] if len(found) >= 4 else ["public", []]
    return {
        "id": status_id,
        "author": author,
        "conversation": conversation,
        "visibility": audience[0],
        "mentions": audience[1],
    }


def link_reply(ctx: TopologyContext, status: Status) -> None:
    """Index a reply under its parent (a hop to the parent's task)."""
    if status["in_reply_to"] is not None:
        ctx.hop(status["in_reply_to"], "store_reply", {"parent": status["in_reply_to"], "id": status["id"]})


def store_reply(ctx: TopologyContext, payload: dict[str, int]) -> None:
    """Add a reply to its parent's replies (idempotent: a set)."""
    ctx.pstate("$$replies").add(payload["parent"], payload["id"])


def can_see(ctx: ReadContext, viewer: int | None, status: Status) -> bool:
    """Whether `viewer` (None: signed out) may see `status` by its visibility."""
    visibility = status["visibility"]
    if visibility in ("public", "unlisted"):
        return True
    if viewer is None:
        return False
    if viewer == status["author"] or viewer in status["mentions"]:
        return True
    if visibility == "private":
        return bool(ctx.pstate("$$following", module="relationships").contains(viewer, status["author"]))
    return False


def context(
    ctx: ReadContext,
    viewer: int | None,
    status_id: int,
    ancestors_limit: int = ANCESTORS_LIMIT,
    descendants_limit: int = DESCENDANTS_LIMIT,
    depth_limit: int = DESCENDANTS_DEPTH,
) -> dict[str, list[int]] | None:
    """Return {"ancestors", "descendants"} ids of `status_id` for `viewer`, or None if they cannot see it."""
    statuses = ctx.pstate("$$statuses", module="core")
    status = statuses.get(status_id)
    if not is_live(status) or not can_see(ctx, viewer, status):
        return None
    ancestors = _ancestors(statuses, status, max(0, ancestors_limit))
    descendants = _descendants(ctx, statuses, status_id, max(0, descendants_limit), max(0, depth_limit))
    return {
        "ancestors": [s["id"] for s in ancestors if can_see(ctx, viewer, s)],
        "descendants": [s["id"] for s in descendants if can_see(ctx, viewer, s)],
    }


def _ancestors(statuses: Any, status: Status, limit: int) -> list[Status]:
    chain: list[Status] = []
    parent_id = status["in_reply_to"]
    while parent_id is not None and len(chain) < limit:
        parent = statuses.get(parent_id)
        if not is_live(parent):
            break
        chain.append(parent)
        parent_id = parent["in_reply_to"]
    chain.reverse()
    return chain


def _descendants(ctx: ReadContext, statuses: Any, root: int, limit: int, depth_limit: int) -> list[Status]:
    """Depth-first, pre-order, replies oldest first; a deleted reply's subtree is unreachable (as in Mastodon)."""
    replies = ctx.pstate("$$replies", module="core")
    out: list[Status] = []
    stack = [(child, 1) for child in reversed(_live_replies(replies, statuses, root))] if depth_limit else []
    while stack and len(out) < limit:
        status, depth = stack.pop()
        out.append(status)
        if depth < depth_limit:
            stack += [(child, depth + 1) for child in reversed(_live_replies(replies, statuses, status["id"]))]
    return out


def _live_replies(replies: Any, statuses: Any, parent: int) -> list[Status]:
    child_ids = replies.range(parent)
    return [s for s in statuses.multi_get(child_ids) if is_live(s)] if child_ids else []
