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
from modules.relationships.buckets import Bucket, grow_many
from modules.relationships.records import IMPORT_OP, merged_options
from modules.relationships.suggestions import follower_count_moved
from pstates.int_rows import IntRows
from pstates.partitions import partitions_of_ints
from topology.context import RecordRejected, StreamContext, TopologyContext

MAX_IMPORT_TARGETS = 1_000
PENDING = "import_pending"  # deferred, on a followee's task: the group's new plain follows to write
SENT = "import_sent"  # deferred, on a follower's task: targets each follower's imports hopped this group
FACTS = "import_facts"  # deferred, on a followee's task: `followee_facts` read this group

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
    sent: dict[int, set[int]] = ctx.deferred(SENT, dict, forget)
    if follower in sent and not sent[follower].isdisjoint(targets):
        ctx.flush_deferred()  # an earlier record of the group imported some of these: its follows land first
    current = current_follows(ctx, follower, targets)
    for followee in current:  # an existing follow or request: graph updates its options
        graph.follow(ctx, follower, followee, record)
    new = np.array([t for t in targets if t not in current], dtype=np.int64)
    if new.size == 0:
        return
    # Fetched again: a step run above may have flushed (and so replaced) the accumulator.
    ctx.deferred(SENT, dict, forget).setdefault(follower, set()).update(new.tolist())
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
    facts = followee_facts(ctx, followees)
    following = ctx.pstate("$$followers").contains_many([(followee, follower) for followee in followees])
    blocked = blocked_pairs(ctx, follower, [f for f, (blocks, _) in zip(followees, facts, strict=True) if blocks])
    plain: list[int] = []
    for followee, (_, locked), follows in zip(followees, facts, following, strict=True):
        if followee in blocked:
            continue  # a block landed after the follower's task checked: the block wins (as `follow_target`)
        if follows or locked:
            graph.follow_target(ctx, [follower, followee, options])
        else:
            plain.append(followee)
    if plain:
        # Fetched now: `graph.follow_target` above may have flushed (and so replaced) the accumulator.
        ctx.deferred(PENDING, PendingFollows, accept_pending).add(follower, options, plain)
        events.emit_followed(ctx, follower, plain)  # now: the event carries this record's time


def followee_facts(ctx: TopologyContext, followees: list[int]) -> list[tuple[bool, bool]]:
    """Whether each followee blocks or is blocked by anyone, and is locked: read once per group (its task).

    A `*follows` group writes neither blocks nor settings, so what one import read holds for the rest of
    the group (the cache is itself a deferred accumulator, dropped at every flush).
    """
    facts: dict[int, tuple[bool, bool]] = ctx.deferred(FACTS, dict, forget)
    missing = [followee for followee in dict.fromkeys(followees) if followee not in facts]
    if missing:
        blocking = ctx.pstate("$$blocking").sizes(missing)
        blocked_by = ctx.pstate("$$blocked_by").sizes(missing)
        settings = ctx.pstate("$$settings").multi_get(missing, {})
        for followee, blocks, blocked, setting in zip(missing, blocking, blocked_by, settings, strict=True):
            facts[followee] = (bool(blocks or blocked), bool(setting.get("locked", False)))
    return [facts[followee] for followee in followees]


def blocked_pairs(ctx: TopologyContext, follower: int, followees: list[int]) -> set[int]:
    """The `followees` that block `follower` or are blocked by it (read on the followees' task)."""
    if not followees:
        return set()
    pairs = [(followee, follower) for followee in followees]
    blocking = ctx.pstate("$$blocking").contains_many(pairs)
    blocked_by = ctx.pstate("$$blocked_by").contains_many(pairs)
    return {f for f, a, b in zip(followees, blocking, blocked_by, strict=True) if a or b}


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


def forget(ctx: TopologyContext, index: object) -> None:
    """Nothing to write: an index of the group's pending follows, or a cache of what the group read."""


def accept_pending(ctx: TopologyContext, pending: PendingFollows) -> None:
    """Write a group's new follows on their followees' task: each bucket list read and written once.

    The follows are columns (one row per follow, in arrival order); each followee's new followers are
    placed in its buckets in that order, as a follow at a time would place them (`grow_many`).
    """
    if not pending.entries:
        return
    group = FollowColumns.of(pending.entries)
    distinct, inverse = np.unique(group.followees, return_inverse=True)
    counts = np.bincount(inverse, minlength=distinct.size).tolist()
    salts = np.full((distinct.size, ctx.tasks), -1, dtype=np.int64)  # [followee, task] -> its bucket's salt
    placed: list[int] = []  # tasks, by followee then arrival
    buckets_view = ctx.pstate("$$follower_buckets")
    rows: list[tuple[int, list[Bucket]]] = []
    stored = buckets_view.multi_get(distinct.tolist(), None)
    for index, (followee, count, lists) in enumerate(zip(distinct.tolist(), counts, stored, strict=True)):
        buckets: list[Bucket] = [] if lists is None else lists
        before = follower_count(buckets)
        placed.extend(grow_many(buckets, followee, count, ctx.tasks, ctx.task_of))
        for task, salt, _ in buckets:
            salts[index, task] = salt
        rows.append((followee, buckets))
        follower_count_moved(ctx, followee, before, before + count)
    buckets_view.put_many(rows)
    group.task[np.argsort(inverse, kind="stable")] = placed
    followers = IntRows(distinct.tolist(), inverse, group.followers, list(range(ctx.tasks)), group.task)
    ctx.pstate("$$followers").put_int_rows(followers, known_new=True)  # `import_targets` read each absent
    index_notify_many(ctx, pending)
    for task in np.unique(group.task).tolist():
        ctx.hop_to_task(task, "import_partitioned", partitioned_payload(group, distinct, inverse, salts, task))
    accepted: dict[int, list[list[Any]]] = {}  # follower's task -> [[follower, options, followees]]
    for follower, options, followees in pending.entries:
        accepted.setdefault(ctx.task_of(follower), []).append([follower, options, followees])
    for task, groups in accepted.items():
        ctx.hop_to_task(task, "import_accepted", groups)


class FollowColumns:
    """A group's pending follows as columns: one row per follow, `entry` its `(follower, options, followees)`.

    `task` is the task of the bucket each follow is placed in, filled in by `accept_pending`.
    """

    __slots__ = ("entry", "followees", "followers", "options", "task")

    def __init__(self, entry: np.ndarray, followers: np.ndarray, followees: np.ndarray, options: list[Any]) -> None:
        self.entry, self.followers, self.followees, self.options = entry, followers, followees, options
        self.task = np.zeros(entry.size, dtype=np.int64)

    @classmethod
    def of(cls, entries: list[tuple[int, dict[str, Any], list[int]]]) -> FollowColumns:
        """Columns of `entries`, rows in entry then followee order."""
        lengths = np.array([len(followees) for _, _, followees in entries], dtype=np.int64)
        entry = np.repeat(np.arange(len(entries), dtype=np.int64), lengths)
        followers = np.array([follower for follower, _, _ in entries], dtype=np.int64)[entry]
        followees = np.fromiter(
            (followee for _, _, targets in entries for followee in targets), dtype=np.int64, count=entry.size
        )
        return cls(entry, followers, followees, [options for _, options, _ in entries])


def partitioned_payload(
    group: FollowColumns, distinct: np.ndarray, inverse: np.ndarray, salts: np.ndarray, task: int
) -> list[Any]:
    """The `import_partitioned` payload of the rows placed on `task`: buckets, followers, options as columns.

    `distinct` are the group's followees, `inverse` each row's index in it, `salts[followee index, task]`
    the salt of that followee's bucket on `task`.
    """
    on_task = group.task == task
    followees, bucket_of_row = np.unique(inverse[on_task], return_inverse=True)
    entries, option_of_row = np.unique(group.entry[on_task], return_inverse=True)
    chosen = zip(distinct[followees].tolist(), salts[followees, task].tolist(), strict=True)
    keys = [[followee, salt] for followee, salt in chosen]
    options = [group.options[e] for e in entries.tolist()]
    return [keys, bucket_of_row.tolist(), group.followers[on_task].tolist(), options, option_of_row.tolist()]


def index_notify_many(ctx: TopologyContext, pending: PendingFollows) -> None:
    """Add the followers whose new follows have `notify` on to their followees' notify-on-post sets."""
    notify = ctx.pstate("$$notify_followers")
    for follower, options, followees in pending.entries:
        if options.get("notify"):
            for followee in followees:
                notify.add(followee, follower)


def follower_count(buckets: list[Bucket]) -> int:
    """Return the number of followers counted in `buckets`."""
    return sum([bucket[2] for bucket in buckets])


def import_partitioned(ctx: TopologyContext, payload: list[Any]) -> None:
    """Store followers in their buckets (their task): `[keys, key_of_row, followers, options, option_of_row]`."""
    keys, key_of_row, followers, options, option_of_row = payload
    rows = IntRows(
        [(followee, salt) for followee, salt in keys],
        np.array(key_of_row, dtype=np.int64),
        np.array(followers, dtype=np.int64),
        options,
        np.array(option_of_row, dtype=np.int64),
    )
    ctx.pstate("$$partitioned_followers").put_int_rows(rows)


def import_accepted(ctx: TopologyContext, groups: list[list[Any]]) -> None:
    """Record each `[follower, options, followees]` group's accepted follows on the followers' task."""
    lengths = np.array([len(followees) for _, _, followees in groups], dtype=np.int64)
    entry = np.repeat(np.arange(len(groups), dtype=np.int64), lengths)
    followees = np.fromiter((f for _, _, targets in groups for f in targets), dtype=np.int64, count=entry.size)
    rows = IntRows([g[0] for g in groups], entry, followees, [g[1] for g in groups], entry)
    ctx.pstate("$$following").put_int_rows(rows)
    requested = ctx.pstate("$$requested")
    for follower, _, targets in groups:
        if requested.size(follower):
            for followee in targets:
                requested.remove(follower, followee)


STEPS = (import_targets, import_partitioned, import_accepted)
