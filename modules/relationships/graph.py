"""The follow graph's stream code: follows, requests, blocks, mutes and notes, each written on its owner.

Every record starts on its actor's task (see `records`). A fact about a pair is written where a reader
routed by its first account finds it, hopping once to the other account's task for the mirror fact:

    follower's task   $$following, $$requested, $$blocking, $$muting, $$notes, $$endorsements, lists
    followee's task   $$followers (follower -> bucket task), $$follow_requests, $$follower_buckets,
                      $$notify_followers, $$blocked_by, $$settings, $$popular; appends to *follow_events
    a bucket's task   $$partitioned_followers[(followee, salt)]

Every write is a put or a remove of a whole fact, so replaying a record (at-least-once) changes nothing;
the one counter, a bucket's size, moves only when `$$followers` gains or loses the follower on that task.
Follow events (see `events`) are emitted only where such a check finds the state actually changing.
When a follow ends on the follower's task (`forget_following`), the endorsement and list memberships
that required it go in the same commit.
"""

from __future__ import annotations

from typing import Any

from modules.relationships import events, lists
from modules.relationships.buckets import Bucket, bucket_key, bucket_on, grow, resized
from modules.relationships.endorsements import drop_endorsement, on_endorsements
from modules.relationships.records import (
    BLOCK_OPS,
    ENDORSE_OPS,
    FOLLOW_OPS,
    IMPORT_OP,
    LIST_OPS,
    MUTE_OPS,
    check_note,
    check_pair,
    merged_options,
    mute_value,
)
from modules.relationships.suggestions import follower_count_moved
from topology.context import RecordRejected, StreamContext, TopologyContext

Record = dict[str, Any]
ALL_FOLLOWS_OPS = FOLLOW_OPS | ENDORSE_OPS | LIST_OPS | {IMPORT_OP}

# -- *follows ------------------------------------------------------------------------------------------


def on_follows(ctx: StreamContext, record: Record) -> int | None:
    """Apply a follow, unfollow, authorize, reject, remove_follower, endorsement or list record."""
    if record.get("op") in ENDORSE_OPS:
        on_endorsements(ctx, record)
        return None
    if record.get("op") in LIST_OPS:
        return lists.on_lists(ctx, record)
    actor_first = record.get("op") not in ("authorize", "reject", "remove_follower")
    first, second = ("follower", "followee") if actor_first else ("followee", "follower")
    if record.get("op") not in FOLLOW_OPS:
        raise RecordRejected(f"unknown op {record.get('op')!r}: expected one of {sorted(ALL_FOLLOWS_OPS)}")
    actor, other = check_pair(record, first, second, FOLLOW_OPS)
    _FOLLOW_HANDLERS[record["op"]](ctx, actor, other, record)
    return None


def follow(ctx: TopologyContext, follower: int, followee: int, record: Record) -> None:
    """Follow `followee`, or update the options of an existing follow or request (on the follower's task)."""
    if blocked_between(ctx, follower, followee):
        raise RecordRejected(f"account {follower} cannot follow {followee}: one blocks the other")
    following = ctx.pstate("$$following")
    current = following.get(follower, followee)
    options = merged_options(record, current or ctx.pstate("$$requested").get(follower, followee))
    if current is not None:
        following.put(follower, followee, options)
    ctx.hop(followee, "follow_target", [follower, followee, options])


def unfollow(ctx: TopologyContext, follower: int, followee: int, record: Record) -> None:
    """Stop following `followee` or withdraw the request (on the follower's task)."""
    forget_following(ctx, [follower, followee])
    ctx.hop(followee, "forget_follower", [followee, follower])


def authorize(ctx: TopologyContext, followee: int, follower: int, record: Record) -> None:
    """Accept `follower`'s pending request (on the followee's task)."""
    request = ctx.pstate("$$follow_requests").get(followee, follower)
    if request is None and not ctx.pstate("$$followers").contains(followee, follower):
        raise RecordRejected(f"account {follower} has no pending follow request to {followee}")
    if request is not None:
        accept_follower(ctx, followee, follower, request)


def reject(ctx: TopologyContext, followee: int, follower: int, record: Record) -> None:
    """Refuse `follower`'s pending request (on the followee's task)."""
    if not ctx.pstate("$$follow_requests").remove(followee, follower):
        raise RecordRejected(f"account {follower} has no pending follow request to {followee}")
    events.emit(ctx, events.REJECTED, follower, followee)
    ctx.hop(follower, "request_rejected", [follower, followee])


def remove_follower(ctx: TopologyContext, followee: int, follower: int, record: Record) -> None:
    """Make `follower` stop following `followee` (on the followee's task)."""
    forget_follower(ctx, [followee, follower])
    ctx.hop(follower, "forget_following", [follower, followee])


_FOLLOW_HANDLERS = {
    "follow": follow,
    "unfollow": unfollow,
    "authorize": authorize,
    "reject": reject,
    "remove_follower": remove_follower,
}

# -- follow steps --------------------------------------------------------------------------------------


def follow_target(ctx: TopologyContext, payload: list[Any]) -> None:
    """Accept or queue a follow on the followee's task, depending on whether it is locked."""
    follower, followee, options = payload
    if blocked_between(ctx, followee, follower):
        return  # a block landed after the follower's task checked: the block wins, nothing was written
    locked = ctx.pstate("$$settings").get(followee, {}).get("locked", False)
    if locked and not ctx.pstate("$$followers").contains(followee, follower):
        requests = ctx.pstate("$$follow_requests")
        if not requests.contains(followee, follower):
            events.emit(ctx, events.REQUESTED, follower, followee)
        requests.put(followee, follower, options)
        ctx.hop(follower, "follow_requested", [follower, followee, options])
    else:
        accept_follower(ctx, followee, follower, options)


def accept_follower(ctx: TopologyContext, followee: int, follower: int, options: dict[str, Any]) -> None:
    """Make `follower` a follower with `options`: index, bucket, then tell the follower's task."""
    followers = ctx.pstate("$$followers")
    task = followers.get(followee, follower)
    bucket = place_follower(ctx, followee) if task is None else _bucket(ctx, followee, task)
    followers.put(followee, follower, bucket[0])
    ctx.pstate("$$follow_requests").remove(followee, follower)
    index_notify(ctx, followee, follower, options)
    ctx.hop(bucket_key(followee, bucket), "partitioned_put", [followee, bucket[1], follower, options])
    ctx.hop(follower, "follow_accepted", [follower, followee, options])
    if task is None:
        events.emit(ctx, events.FOLLOWED, follower, followee)


def follow_accepted(ctx: TopologyContext, payload: list[Any]) -> None:
    """Record the follow on the follower's task."""
    follower, followee, options = payload
    ctx.pstate("$$following").put(follower, followee, options)
    ctx.pstate("$$requested").remove(follower, followee)


def follow_requested(ctx: TopologyContext, payload: list[Any]) -> None:
    """Record the pending request on the follower's task."""
    follower, followee, options = payload
    ctx.pstate("$$requested").put(follower, followee, options)


def request_rejected(ctx: TopologyContext, payload: list[int]) -> None:
    """Drop the refused request on the follower's task."""
    follower, followee = payload
    ctx.pstate("$$requested").remove(follower, followee)


def forget_following(ctx: TopologyContext, payload: list[int]) -> None:
    """Drop the follow or request of `follower` to `followee` on the follower's task."""
    follower, followee = payload
    if ctx.pstate("$$following").remove(follower, followee):
        drop_endorsement(ctx, follower, followee)
        lists.drop_member(ctx, follower, followee)
    ctx.pstate("$$requested").remove(follower, followee)


def forget_follower(ctx: TopologyContext, payload: list[int]) -> None:
    """Drop `follower` and its request from `followee`'s task and from its bucket."""
    followee, follower = payload
    if ctx.pstate("$$follow_requests").remove(followee, follower):
        events.emit(ctx, events.REQUEST_WITHDRAWN, follower, followee)
    followers = ctx.pstate("$$followers")
    task = followers.get(followee, follower)
    if task is None:
        return
    bucket = _bucket(ctx, followee, task)
    followers.remove(followee, follower)
    ctx.pstate("$$notify_followers").remove(followee, follower)
    ctx.hop(bucket_key(followee, bucket), "partitioned_remove", [followee, bucket[1], follower])
    before = ctx.pstate("$$follower_buckets").get(followee, [])
    put_buckets(ctx, followee, before, resized(before, task, -1))
    events.emit(ctx, events.UNFOLLOWED, follower, followee)


def index_notify(ctx: TopologyContext, followee: int, follower: int, options: dict[str, Any]) -> None:
    """Keep `follower` in `followee`'s notify-on-post set exactly while its follow has `notify` on."""
    notify_followers = ctx.pstate("$$notify_followers")
    if options.get("notify"):
        notify_followers.add(followee, follower)
    else:
        notify_followers.remove(followee, follower)


# -- partitioned followers -----------------------------------------------------------------------------


def place_follower(ctx: TopologyContext, followee: int) -> Bucket:
    """Count one more follower in the bucket chosen for it, opening a bucket if needed; return the bucket."""
    before: list[Bucket] = ctx.pstate("$$follower_buckets").get(followee, [])
    buckets, placed = placed_in(ctx, followee, before)
    put_buckets(ctx, followee, before, buckets)
    return placed


def placed_in(ctx: TopologyContext, followee: int, before: list[Bucket]) -> tuple[list[Bucket], Bucket]:
    """Return `before` with one more follower in the bucket chosen for it (opened if needed), and that bucket."""
    buckets = [list(bucket) for bucket in before]  # `before` stays as read: the count it had
    return buckets, grow(buckets, followee, ctx.tasks, ctx.task_of)


def partitioned_put(ctx: TopologyContext, payload: list[Any]) -> None:
    """Store a follower and its options in a bucket (on the bucket's task)."""
    followee, salt, follower, options = payload
    ctx.pstate("$$partitioned_followers").put((followee, salt), follower, options)


def partitioned_remove(ctx: TopologyContext, payload: list[int]) -> None:
    """Remove a follower from a bucket (on the bucket's task)."""
    followee, salt, follower = payload
    ctx.pstate("$$partitioned_followers").remove((followee, salt), follower)


def _bucket(ctx: TopologyContext, followee: int, task: int) -> Bucket:
    bucket = bucket_on(ctx.pstate("$$follower_buckets").get(followee, []), task)
    if bucket is None:  # $$followers and $$follower_buckets are written together: this is a bug
        raise RuntimeError(f"followee {followee} has a follower on task {task} but no bucket there")
    return bucket


def put_buckets(ctx: TopologyContext, followee: int, before: list[Bucket], buckets: list[Bucket]) -> None:
    view = ctx.pstate("$$follower_buckets")
    follower_count_moved(ctx, followee, sum(b[2] for b in before), sum(b[2] for b in buckets))
    if buckets:
        view.put(followee, buckets)
    else:
        view.delete(followee)


# -- *account_settings ---------------------------------------------------------------------------------


def on_settings(ctx: StreamContext, record: Record) -> None:
    """Store an account's settings; unlocking accepts every pending request, as Mastodon does."""
    account, locked = record.get("account"), record.get("locked")
    if type(account) is not int or type(locked) is not bool:
        raise RecordRejected(f"settings need an int account and a bool locked, got {account!r}, {locked!r}")
    ctx.pstate("$$settings").put(account, {"locked": locked})
    if not locked:
        for follower, options in ctx.pstate("$$follow_requests").range(account):
            accept_follower(ctx, account, follower, options)


# -- *blocks -------------------------------------------------------------------------------------------


def on_blocks(ctx: StreamContext, record: Record) -> None:
    """Block (severing follows and requests both ways) or unblock, on the blocker's task."""
    blocker, blocked = check_pair(record, "blocker", "blocked", BLOCK_OPS)
    if record.get("op") == "unblock":
        ctx.pstate("$$blocking").remove(blocker, blocked)
        ctx.hop(blocked, "unblock_target", [blocker, blocked])
        return
    ctx.pstate("$$blocking").add(blocker, blocked)
    sever(ctx, blocker, blocked)
    ctx.hop(blocked, "block_target", [blocker, blocked])


def block_target(ctx: TopologyContext, payload: list[int]) -> None:
    """Record the block and sever both directions on the blocked account's task."""
    blocker, blocked = payload
    ctx.pstate("$$blocked_by").add(blocked, blocker)
    sever(ctx, blocked, blocker)


def unblock_target(ctx: TopologyContext, payload: list[int]) -> None:
    """Drop the block on the blocked account's task."""
    blocker, blocked = payload
    ctx.pstate("$$blocked_by").remove(blocked, blocker)


def sever(ctx: TopologyContext, here: int, there: int) -> None:
    """Drop what `here`'s task holds of any follow or request between `here` and `there`."""
    forget_following(ctx, [here, there])
    forget_follower(ctx, [here, there])


def blocked_between(ctx: TopologyContext, here: int, there: int) -> bool:
    """Whether either account blocks the other, read on `here`'s task."""
    return bool(ctx.pstate("$$blocking").contains(here, there) or ctx.pstate("$$blocked_by").contains(here, there))


# -- *mutes and *notes ---------------------------------------------------------------------------------


def on_mutes(ctx: StreamContext, record: Record) -> None:
    """Mute (optionally until `ctx.time_ms + duration_s`) or unmute, on the muter's task."""
    muter, muted = check_pair(record, "muter", "muted", MUTE_OPS)
    if record.get("op") == "unmute":
        ctx.pstate("$$muting").remove(muter, muted)
    else:
        ctx.pstate("$$muting").put(muter, muted, mute_value(record, ctx.time_ms))


def on_notes(ctx: StreamContext, record: Record) -> None:
    """Set or clear (empty comment) a private note on an account, on the author's task."""
    author, target = check_pair(record, "author", "target", None, allow_self=True)
    comment = check_note(record.get("comment"))
    if comment:
        ctx.pstate("$$notes").put(author, target, comment)
    else:
        ctx.pstate("$$notes").remove(author, target)


STEPS = (
    follow_target,
    follow_accepted,
    follow_requested,
    request_rejected,
    forget_following,
    forget_follower,
    partitioned_put,
    partitioned_remove,
    block_target,
    unblock_target,
    *lists.STEPS,
)
