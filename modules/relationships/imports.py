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

from collections.abc import Callable
from typing import Any

import numpy as np

from modules.relationships import events, graph
from modules.relationships.buckets import Bucket, grow
from modules.relationships.records import IMPORT_OP, merged_options
from modules.relationships.suggestions import follower_count_moved
from pstates.partitions import partitions_of_ints
from topology.context import RecordRejected, StreamContext, TopologyContext

MAX_IMPORT_TARGETS = 1_000
PENDING = "import_pending"  # deferred, on a followee's task: the group's new plain follows to write
SENT = "import_sent"  # deferred, on a follower's task: targets each follower's imports hopped this group

Record = dict[str, Any]


def on_follows(ctx: StreamContext, record: Record) -> int | None:
    """Apply a `*follows` record: an import here, every other op in `graph`."""
    if isinstance(record, dict) and record.get("op") == IMPORT_OP:
        on_import(ctx, record)
        return None
    ctx.flush_deferred()  # any other op may read what earlier imports of the group left pending
    return graph.on_follows(ctx, record)


def on_import(ctx: TopologyContext, record: Record) -> None:
    """Follow every target of an import record (on the follower's task)."""
    follower, followees = checked(record)
    options = merged_options(record, None)
    targets = sorted(set(followees) - blocked_with(ctx, follower) - {follower})
    sent: dict[int, set[int]] = ctx.deferred(SENT, dict, forget_sent)
    if follower in sent and not sent[follower].isdisjoint(targets):
        ctx.flush_deferred()  # an earlier record of the group imported some of these: its follows land first
    current = current_follows(ctx, follower, targets)
    for followee in current:  # an existing follow or request: graph updates its options
        graph.follow(ctx, follower, followee, record)
    new = np.array([t for t in targets if t not in current], dtype=np.int64)
    if new.size == 0:
        return
    # Fetched again: a step run above may have flushed (and so replaced) the accumulator.
    ctx.deferred(SENT, dict, forget_sent).setdefault(follower, set()).update(new.tolist())
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
    if ctx.deferred(PENDING, PendingFollows, accept_pending).overlaps(follower, followees):
        ctx.flush_deferred()  # the same follow twice in a group: the second must see the first
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
        # Fetched now: `graph.follow_target` above may have flushed (and so replaced) the accumulator.
        ctx.deferred(PENDING, PendingFollows, accept_pending).add(follower, options, plain)
        events.emit_followed(ctx, follower, plain)  # now: the event carries this record's time


class PendingFollows:
    """New plain follows accepted on one task in one group: `(follower, options, followees)` in order."""

    __slots__ = ("by_follower", "entries")

    def __init__(self) -> None:
        self.entries: list[tuple[int, dict[str, Any], list[int]]] = []
        self.by_follower: dict[int, set[int]] = {}

    def add(self, follower: int, options: dict[str, Any], followees: list[int]) -> None:
        """Queue `follower`'s new follows of `followees`."""
        self.entries.append((follower, options, followees))
        self.by_follower.setdefault(follower, set()).update(followees)

    def overlaps(self, follower: int, followees: list[int]) -> bool:
        """Whether a follow of `follower` to one of `followees` is already queued."""
        queued = self.by_follower.get(follower)
        return queued is not None and not queued.isdisjoint(followees)


def after_pending(step: Callable[[TopologyContext, Any], None]) -> Callable[[TopologyContext, Any], None]:
    """Wrap a `graph` step so that the group's pending import follows are written before it reads anything."""

    def run(ctx: TopologyContext, payload: Any) -> None:
        ctx.flush_deferred()
        step(ctx, payload)

    return run


def forget_sent(ctx: TopologyContext, sent: dict[int, set[int]]) -> None:
    """Nothing to write: the targets an import hopped are an index of the group's pending follows only."""


def accept_pending(ctx: TopologyContext, pending: PendingFollows) -> None:
    """Write a group's new follows on their followees' task: each bucket list read and written once."""
    distinct = list(dict.fromkeys(followee for _, _, followees in pending.entries for followee in followees))
    stored = ctx.pstate("$$follower_buckets").multi_get(distinct)
    buckets: dict[int, list[Bucket]] = {f: [] if s is None else s for f, s in zip(distinct, stored, strict=True)}
    before = {followee: follower_count(lists) for followee, lists in buckets.items()}
    follower_rows: list[tuple[int, int, int]] = []
    partitioned: dict[int, list[list[Any]]] = {}  # bucket task -> [[follower, options, [[followee, salt]]]]
    accepted: dict[int, list[list[Any]]] = {}  # follower's task -> [[follower, options, followees]]
    for follower, options, followees in pending.entries:
        by_task: dict[int, list[list[int]]] = {}
        for followee in followees:  # in arrival order: the placements a follow at a time would make
            task, salt, _ = grow(buckets[followee], followee, ctx.tasks, ctx.task_of)
            follower_rows.append((followee, follower, task))
            by_task.setdefault(task, []).append([followee, salt])
        for task, keys in by_task.items():
            partitioned.setdefault(task, []).append([follower, options, keys])
        accepted.setdefault(ctx.task_of(follower), []).append([follower, options, followees])
        if options.get("notify"):
            notify = ctx.pstate("$$notify_followers")
            for followee in followees:
                notify.add(followee, follower)
    ctx.pstate("$$follower_buckets").put_many(list(buckets.items()))
    for followee, lists in buckets.items():
        follower_count_moved(ctx, followee, before[followee], follower_count(lists))
    ctx.pstate("$$followers").put_many(follower_rows)
    for task, groups in partitioned.items():
        ctx.hop_to_task(task, "import_partitioned", groups)
    for task, groups in accepted.items():
        ctx.hop_to_task(task, "import_accepted", groups)


def follower_count(buckets: list[Bucket]) -> int:
    """Return the number of followers counted in `buckets`."""
    return sum([bucket[2] for bucket in buckets])


def import_partitioned(ctx: TopologyContext, groups: list[list[Any]]) -> None:
    """Store each `[follower, options, [[followee, salt], ...]]` group's follower in its buckets (their task)."""
    ctx.pstate("$$partitioned_followers").put_many(
        [((followee, salt), follower, options) for follower, options, keys in groups for followee, salt in keys]
    )


def import_accepted(ctx: TopologyContext, groups: list[list[Any]]) -> None:
    """Record each `[follower, options, followees]` group's accepted follows on the followers' task."""
    ctx.pstate("$$following").put_many(
        [(follower, followee, options) for follower, options, followees in groups for followee in followees]
    )
    requested = ctx.pstate("$$requested")
    for follower, _, followees in groups:
        if requested.size(follower):
            for followee in followees:
                requested.remove(follower, followee)


STEPS = (import_targets, import_partitioned, import_accepted)
