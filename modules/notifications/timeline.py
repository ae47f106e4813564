"""Per-recipient notification timelines: the `notify` / `unnotify` steps, filtering, ids, the cap.

Every step here runs on the recipient's task (the sources hop there) and writes only the recipient's keys:

    $$notifications       recipient -> notification id -> notification (see `records`), newest `cap` kept
    $$notification_keys   recipient -> activity key -> notification id
    $$notification_groups recipient -> group prefix -> {"bucket": hour, "latest": notification id}

Ids are time-ordered ints: the source record's append time in ms, shifted left 12 bits, plus 12 bits of
crc32 of (recipient, activity key). So a retried hop or a replay computes the same id, and ids of one
recipient only collide if two activities hash alike in the same millisecond (then the later one probes
upwards). 53 bits hold them until 2039: Mastodon's v2 API sends `most_recent_notification_id` as a JSON
number, which JavaScript clients read exactly only below 2**53. A source record appended twice has another
time, but the activity key index finds the first notification and the repeat writes nothing. `update` is
the one type where a new activity replaces the previous one of the same status: its payload carries the
edit's revision (core's update events do), kept in the notification, and only a higher revision replaces
it, so a replayed or late older edit never takes the newest one's place (an event without a revision,
from before core numbered them, replaces as before).

The timeline is a `SortedMap` with its own cap, not `CappedNewestFirst`: trimming must also drop the
trimmed notifications' activity keys and group entries, and `min_id` paging reads oldest-first.

Filtering follows Mastodon's NotifyService: nothing from oneself (except poll results), nor from an
account the recipient blocks, nor one it mutes with `notifications: true` (expiry read against the
source record's time), nor about a status whose conversation the recipient muted.
"""

from __future__ import annotations

import zlib
from typing import Any

from modules.notifications import grouping, policies
from modules.notifications.records import POLL, UPDATE
from modules.relationships.records import mute_active
from topology.context import TopologyContext

NOTIFICATIONS = "$$notifications"
KEYS = "$$notification_keys"
ID_LOW_BITS = 12
ID_LOW_MASK = (1 << ID_LOW_BITS) - 1
OUTPUT = "notifications"

Payload = dict[str, Any]


def notification_payload(
    kind: str,
    recipient: int,
    actor: int,
    status: int | None,
    key: str,
    at: int,
    thread: int | None = None,
    revision: int | None = None,
    private_mention: bool = False,
) -> Payload:
    """Return the payload of a `notify` hop to `recipient`'s task.

    `thread`: the status' thread root, if known; `revision`: the edit an `update` tells of;
    `private_mention`: a direct mention that is not a reply to the recipient (notification policies).
    """
    payload = {"recipient": recipient, "type": kind, "account": actor, "status": status, "key": key, "at": at}
    if thread is not None:
        payload["thread"] = thread
    if revision is not None:
        payload["revision"] = revision
    if private_mention:
        payload["private_mention"] = True
    return payload


def notification_id(at_ms: int, recipient: int, key: str) -> int:
    """Return the time-ordered id of the notification of activity `key` for `recipient` at `at_ms`."""
    return (at_ms << ID_LOW_BITS) | (zlib.crc32(f"{recipient}/{key}".encode()) & ID_LOW_MASK)


def notify(ctx: TopologyContext, payload: Payload, cap: int) -> None:
    """Store one notification for its recipient unless filtered out or already there (on its task)."""
    recipient, key = payload["recipient"], payload["key"]
    base_id = notification_id(payload["at"], recipient, key)
    existing = ctx.pstate(KEYS).get(recipient, key)
    if existing is not None:
        if existing == base_id or payload["type"] != UPDATE or not newer_edit(ctx, recipient, existing, payload):
            return  # a retry, or a repeat of the same activity
        remove_notification(ctx, recipient, existing)
    if filtered_out(ctx, payload):
        return
    verdict = policies.verdict(ctx, payload)
    if verdict == "drop":
        return
    timeline = ctx.pstate(NOTIFICATIONS)
    new_id = base_id
    while timeline.contains(recipient, new_id):
        new_id += 1
    filtered = verdict == "filter"  # kept for the sender's request, out of lists and groups until accepted
    value = {
        "id": new_id,
        "type": payload["type"],
        "account": payload["account"],
        "status": payload["status"],
        "created_at": payload["at"],
        "group_key": f"ungrouped-{new_id}" if filtered else grouping.assign(ctx, recipient, payload, new_id),
        "key": key,
    }
    if "revision" in payload:
        value["revision"] = payload["revision"]
    if filtered:
        value["filtered"] = True
        policies.hold(ctx, recipient, payload["account"], new_id, payload["at"])
    timeline.put(recipient, new_id, value)
    ctx.pstate(KEYS).put(recipient, key, new_id)
    trim(ctx, recipient, cap)
    if not filtered:
        ctx.emit(OUTPUT, {"account": recipient, "notification": value})


def newer_edit(ctx: TopologyContext, recipient: int, existing: int, payload: Payload) -> bool:
    """Whether an `update` payload tells of a later edit than the recipient's notification `existing`."""
    revision = payload.get("revision")
    if revision is None:
        return True
    shown = ctx.pstate(NOTIFICATIONS).get(recipient, existing)
    return shown is None or revision > shown.get("revision", 0)


def unnotify(ctx: TopologyContext, payload: Payload) -> None:
    """Remove the recipient's notification of activity `key`, if any (an unfavourite, an unfollow...)."""
    found = ctx.pstate(KEYS).get(payload["recipient"], payload["key"])
    if found is not None:
        remove_notification(ctx, payload["recipient"], found)


def remove_notification(ctx: TopologyContext, recipient: int, notification: int) -> bool:
    """Remove one notification with its activity key and group entry; return whether it existed."""
    timeline = ctx.pstate(NOTIFICATIONS)
    value = timeline.get(recipient, notification)
    if value is None:
        return False
    timeline.remove(recipient, notification)
    ctx.pstate(KEYS).remove(recipient, value["key"])
    grouping.forget(ctx, recipient, value)
    return True


def forget_sender(ctx: TopologyContext, payload: Payload) -> None:
    """Remove every notification `sender` caused `recipient`, and its request (a block; on the recipient's task)."""
    recipient, sender = payload["recipient"], payload["sender"]
    found = [key for key, value in ctx.pstate(NOTIFICATIONS).range(recipient) if value["account"] == sender]
    for notification in found:
        remove_notification(ctx, recipient, notification)
    policies.forget_request(ctx, recipient, sender)


def forget_about(ctx: TopologyContext, recipient: int, status: int) -> None:
    """Remove every notification of `recipient` about `status` (it was deleted; on the recipient's task)."""
    found = [key for key, value in ctx.pstate(NOTIFICATIONS).range(recipient) if value["status"] == status]
    for notification in found:
        remove_notification(ctx, recipient, notification)


def clear(ctx: TopologyContext, recipient: int) -> None:
    """Remove every notification of `recipient` with its indexes."""
    for name in (NOTIFICATIONS, KEYS, grouping.GROUPS):
        ctx.pstate(name).delete(recipient)


def trim(ctx: TopologyContext, recipient: int, cap: int) -> None:
    """Drop the recipient's oldest notifications beyond `cap`."""
    timeline = ctx.pstate(NOTIFICATIONS)
    excess = timeline.size(recipient) - cap
    if excess > 0:
        for notification, _ in timeline.range(recipient, limit=excess):
            remove_notification(ctx, recipient, notification)


def filtered_out(ctx: TopologyContext, payload: Payload) -> bool:
    """Whether Mastodon would drop this notification: self, blocked, muted, muted conversation."""
    recipient, actor, status = payload["recipient"], payload["account"], payload["status"]
    if actor == recipient:
        return bool(payload["type"] != POLL)  # a poll's author hears that its poll ended
    if ctx.pstate("$$blocking", module="relationships").contains(recipient, actor):
        return True
    mute = ctx.pstate("$$muting", module="relationships").get(recipient, actor)
    if mute is not None and mute.get("notifications") and mute_active(mute, payload["at"]):
        return True
    if status is None:
        return False
    # A new status' thread comes with its record: core may not have committed the status itself yet.
    return bool(ctx.query("core", "muted_conversation", recipient, status, payload.get("thread")))
