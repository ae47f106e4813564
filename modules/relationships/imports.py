"""Bulk follows: Mastodon's following-list import, one `*follows` record for one account and many targets.

    {"op": "import_follows", "follower", "followees": [ids], "reblogs"?, "notify"?, "languages"?}

Every target is followed by the rules of a single `follow` (`graph`), with the record's options merged over
an existing follow's or request's: a locked target gets a request, an existing follow gets its options
updated. A target either side blocks is skipped, and so is the follower itself: Mastodon's import reports
such rows as failed instead of failing the whole file. At most `MAX_IMPORT_TARGETS` targets per record
(a client splits a longer list); a malformed record is rejected whole.

Why a bulk op: loading a graph of ~20M follows one record per follow costs a record, a dozen single-key
reads and three hops per follow. Here a record costs, on the follower's task, a few size reads and one hop
per task owning some targets; on each such task a multi-get per fact (blocks, settings, existing follows,
buckets), one bulk write per PState, one hop per bucket task and one hop back with the accepted targets.
Only the common case takes that path (a new follow of an unlocked account, no block): every other target
goes through `graph`'s one-at-a-time steps, so each rule has a single definition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modules.relationships import events, graph
from modules.relationships.buckets import Bucket, grow
from modules.relationships.records import IMPORT_OP, merged_options
from modules.relationships.suggestions import follower_count_moved, popularity_level
from pstates.partitions import partitions_of_ints
from topology.context import RecordRejected, StreamContext, TopologyContext

MAX_IMPORT_TARGETS = 1_000

Record = dict[str, Any]


def on_follows(ctx: StreamContext, record: Record) -> int | None:
    """Apply a `*follows` record: an import here, every other op in `graph`."""
    if isinstance(record, dict) and record.get("op") == IMPORT_OP:
        on_import(ctx, record)
        return None
    return graph.on_follows(ctx, record)


def on_import(ctx: TopologyContext, record: Record) -> None:
    """Follow every target of an import record (on the follower's task)."""
    follower, followees = checked(record)
    options = merged_options(record, None)
    targets = sorted(set(followees) - blocked_with(ctx, follower) - {follower})
    current = current_follows(ctx, follower, targets)
    for followee in current:  # an existing follow or request: graph updates its options
        graph.follow(ctx, follower, followee, record)
    new = np.array([t for t in targets if t not in current], dtype=np.int64)
    if new.size == 0:
        return
    owners = partitions_of_ints(new, ctx.tasks)
    for task in np.unique(owners).tolist():
        ctx.hop_to_task(task, "import_targets", [follower, options, new[owners == task].tolist()])


def checked(record: Record) -> tuple[int, list[int]]:
    """Return the record's follower and targets, rejecting what is not an int and a list of ints."""
    follower, followees = record.get("follower"), record.get("followees")
    if type(follower) is not int:
        raise RecordRejected(f"follower must be an account id (int), got {follower!r}")
    if not isinstance(followees, list) or any(type(f) is not int for f in followees):
        raise RecordRejected("followees must be a list of account ids (int)")
    if len(followees) > MAX_IMPORT_TARGETS:
        raise RecordRejected(f"at most {MAX_IMPORT_TARGETS} followees per import record, got {len(followees)}")
    return follower, followees


def blocked_with(ctx: TopologyContext, account: int) -> set[int]:
    """Every account `account` blocks or is blocked by (read on its task: two size reads when none)."""
    out: set[int] = set()
    for name in ("$$blocking", "$$blocked_by"):
        view = ctx.pstate(name)
        if view.size(account):
            out.update(view.range(account))
    return out


def current_follows(ctx: TopologyContext, follower: int, targets: list[int]) -> set[int]:
    """The targets `follower` already follows or requested (two size reads when it follows nobody)."""
    out: set[int] = set()
    for name in ("$$following", "$$requested"):
        view = ctx.pstate(name)
        if targets and view.size(follower):
            found = view.contains_many([(follower, t) for t in targets])
            out.update(t for t, there in zip(targets, found, strict=True) if there)
    return out


# -- steps ---------------------------------------------------------------------------------------------


def import_targets(ctx: TopologyContext, payload: list[Any]) -> None:
    """Accept the follows of this task's targets: in bulk if plain, else one by one (on the targets' task)."""
    follower, options, followees = payload
    pairs = [(followee, follower) for followee in followees]
    blocking = ctx.pstate("$$blocking").contains_many(pairs)
    blocked_by = ctx.pstate("$$blocked_by").contains_many(pairs)
    following = ctx.pstate("$$followers").contains_many(pairs)
    settings = ctx.pstate("$$settings").multi_get(followees, {})
    plain: list[int] = []
    for followee, blocks, blocked, follows, setting in zip(
        followees, blocking, blocked_by, following, settings, strict=True
    ):
        if blocks or blocked:
            continue  # a block landed after the follower's task checked: the block wins (as `follow_target`)
        if follows or setting.get("locked", False):
            graph.follow_target(ctx, [follower, followee, options])
        else:
            plain.append(followee)
    if plain:
        accept_plain(ctx, follower, options, plain)


def accept_plain(ctx: TopologyContext, follower: int, options: dict[str, Any], followees: list[int]) -> None:
    """Make `follower` a new follower of each of `followees` (unlocked, not yet followed), like `accept_follower`."""
    bucket_view = ctx.pstate("$$follower_buckets")
    bucket_rows: list[tuple[int, list[Bucket]]] = []
    follower_rows: list[tuple[int, int, int]] = []
    by_task: dict[int, list[list[int]]] = {}
    for followee, stored in zip(followees, bucket_view.multi_get(followees), strict=True):
        buckets = [] if stored is None else stored  # a decoded copy of our own: grown in place
        task, salt, _ = grow(buckets, followee, ctx.tasks, ctx.task_of)
        bucket_rows.append((followee, buckets))
        follower_rows.append((followee, follower, task))
        by_task.setdefault(task, []).append([followee, salt])
        count = sum([bucket[2] for bucket in buckets])
        if popularity_level(count) == count:  # the count just reached a new level (see `popularity_level`)
            follower_count_moved(ctx, followee, count - 1, count)
    bucket_view.put_many(bucket_rows)
    ctx.pstate("$$followers").put_many(follower_rows)
    if options.get("notify"):
        notify = ctx.pstate("$$notify_followers")
        for followee in followees:
            notify.add(followee, follower)
    events.emit_followed(ctx, follower, followees)
    for task, keys in by_task.items():
        ctx.hop_to_task(task, "import_partitioned", [follower, options, keys])
    ctx.hop(follower, "import_accepted", [follower, options, followees])


def import_partitioned(ctx: TopologyContext, payload: list[Any]) -> None:
    """Store the follower in each `[followee, salt]` bucket (on the buckets' task)."""
    follower, options, keys = payload
    ctx.pstate("$$partitioned_followers").put_many([((followee, salt), follower, options) for followee, salt in keys])


def import_accepted(ctx: TopologyContext, payload: list[Any]) -> None:
    """Record the accepted follows on the follower's task."""
    follower, options, followees = payload
    ctx.pstate("$$following").put_many([(follower, followee, options) for followee in followees])
    requested = ctx.pstate("$$requested")
    if requested.size(follower):
        for followee in followees:
            requested.remove(follower, followee)


STEPS = (import_targets, import_partitioned, import_accepted)
