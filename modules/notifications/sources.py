"""What makes a notification: handlers of core's and relationships' depots, each hopping to the recipients.

    core *statuses_with_id      create: `mention` to each mentioned account; `status` to followers with
                                notify on (not for boosts or direct statuses, nor to someone mentioned);
                                update: `update` (with the edit's revision) to every account that
                                boosted the status; delete: removes the author's notifications about it
                                (favourites, boosts, its poll), the mentions and the `status` ones
    core *interactions          favourited / reblogged: `favourite` / `reblog` to the status' author;
                                unfavourited / unreblogged remove it (Mastodon destroys a favourite's or
                                a boost's notification with it)
    core *poll_events           poll_expired: `poll` to the author and to every voter
    relationships *follow_events  on the followee's task (`follow_event` step): requested -> `follow_request`;
                                followed -> `follow`, unless it authorizes a request seen here (Mastodon
                                then only drops the request's notification); unfollowed removes `follow`;
                                request_withdrawn / rejected remove `follow_request`
    relationships *blocks       block: the blocker's notifications from the blocked account go, with its
                                request (Mastodon's AfterBlockService); later ones are filtered by the block

`$$follow_requesters` (followee -> accounts whose pending request this module saw, kept while the
request or the follow it became lasts) tells an authorization from a plain follow, also on a retry.
`$$mentioned` (author -> status -> {"accounts"}, on the author's task, until the status is deleted) tells a
delete whom the status mentioned: core's delete record does not say, and Mastodon deletes the notifications
with the status. Still left when a status goes: the `poll` notifications of its voters and the `update` ones
of its boosters (readers drop notifications whose status is gone when they hydrate).
"""

from __future__ import annotations

from typing import Any

from modules.notifications import timeline
from modules.notifications.records import (
    FAVOURITE,
    FOLLOW,
    FOLLOW_REQUEST,
    MENTION,
    POLL,
    REBLOG,
    STATUS,
    UPDATE,
    activity_key,
)
from modules.relationships.records import BLOCK_OPS, check_pair
from topology.context import RecordRejected, StreamContext, TopologyContext

Record = dict[str, Any]
REQUESTERS = "$$follow_requesters"
MENTIONED = "$$mentioned"
PAGE = 1_000  # followers read per range call, boosters per query page
BOOSTERS_PAGE = 80


def send(
    ctx: TopologyContext,
    kind: str,
    recipient: int,
    actor: int,
    status: int | None,
    key: str,
    thread: int | None = None,
    revision: int | None = None,
    private_mention: bool = False,
) -> None:
    """Hop a `notify` of `kind` to `recipient`'s task."""
    payload = timeline.notification_payload(
        kind, recipient, actor, status, key, ctx.time_ms, thread, revision, private_mention
    )
    ctx.hop(recipient, "notify", payload)


def retract(ctx: TopologyContext, recipient: int, key: str) -> None:
    """Hop an `unnotify` of activity `key` to `recipient`'s task."""
    ctx.hop(recipient, "unnotify", {"recipient": recipient, "key": key})


def on_statuses(ctx: StreamContext, record: Record) -> None:
    """Notify the mentioned accounts and notify-on-post followers of a new status, boosters of an edit."""
    if record.get("op") == "create":
        on_created(ctx, record["status"], record.get("conversation"))
    elif record.get("op") == "update":
        on_updated(ctx, int(record["id"]), int(record["author"]), record.get("revision"))
    elif record.get("op") == "delete":
        author = int(record["author"])
        ctx.hop(author, "forget_status", {"author": author, "status": int(record["id"])})


def on_created(ctx: StreamContext, delivery: Record, thread: int | None) -> None:
    """Send `mention` and `status` notifications of a created status (boosts notify through interactions)."""
    if delivery.get("reblog_of") is not None:
        return
    author, status = int(delivery["author"]), int(delivery["id"])
    mentions = set(delivery.get("mentions") or [])
    direct = delivery.get("visibility") == "direct"
    for mentioned in sorted(mentions):
        private = direct and delivery.get("reply_to") != mentioned  # Mastodon: not a reply to the recipient
        send(ctx, MENTION, mentioned, author, status, activity_key(MENTION, status), thread, private_mention=private)
    if mentions:
        ctx.hop(author, "note_mentions", {"author": author, "status": status, "accounts": sorted(mentions)})
    if direct:
        return
    for follower in notify_followers(ctx, author):
        if follower not in mentions:
            send(ctx, STATUS, follower, author, status, activity_key(STATUS, status), thread)


def notify_followers(ctx: TopologyContext, author: int) -> list[int]:
    """Return the followers of `author` whose follow asks to be notified of new posts."""
    view = ctx.pstate("$$notify_followers", module="relationships")
    found: list[int] = []
    while True:
        page = view.range(author, found[-1] + 1 if found else None, None, limit=PAGE)
        found.extend(page)
        if len(page) < PAGE:
            return found


def on_updated(ctx: StreamContext, status: int, author: int, revision: int | None) -> None:
    """Send `update` (of edit `revision`) to every account that boosted the edited status."""
    max_id: int | None = None
    while True:
        page = ctx.query("core", "reblogged_by", status, max_id, BOOSTERS_PAGE)
        for _, booster in page:
            send(ctx, UPDATE, int(booster), author, status, activity_key(UPDATE, status), revision=revision)
        if len(page) < BOOSTERS_PAGE:
            return
        max_id = int(page[-1][0])


def note_mentions(ctx: TopologyContext, payload: Record) -> None:
    """Remember whom a status mentioned, for its delete (on the author's task; a retry writes the same)."""
    ctx.pstate(MENTIONED).put(payload["author"], payload["status"], {"accounts": payload["accounts"]})


def forget_status(ctx: TopologyContext, payload: Record) -> None:
    """Retract the notifications a deleted status caused (on its author's task)."""
    author, status = int(payload["author"]), int(payload["status"])
    timeline.forget_about(ctx, author, status)
    mentioned = ctx.pstate(MENTIONED).get(author, status)
    for account in mentioned["accounts"] if mentioned is not None else []:
        retract(ctx, int(account), activity_key(MENTION, status))
    ctx.pstate(MENTIONED).remove(author, status)
    for follower in notify_followers(ctx, author):  # a follower who stopped since keeps his: readers drop it
        retract(ctx, follower, activity_key(STATUS, status))


def on_interactions(ctx: StreamContext, record: Record) -> None:
    """Send or retract a `favourite` or `reblog` notification to the status' author."""
    author, account, status = record.get("author"), record.get("account"), record.get("status")
    if author is None or account is None or status is None:
        return  # the status was gone when it was unfavourited: nothing to address
    op = record.get("op")
    kind = FAVOURITE if op in ("favourited", "unfavourited") else REBLOG
    key = activity_key(kind, int(status), int(account))
    if op in ("favourited", "reblogged"):
        send(ctx, kind, int(author), int(account), int(status), key)
    elif op in ("unfavourited", "unreblogged"):
        retract(ctx, int(author), key)


def on_poll_events(ctx: StreamContext, record: Record) -> None:
    """Send `poll` to a closed poll's author and voters."""
    if record.get("op") != "poll_expired":
        return
    author, status = int(record["author"]), int(record["status"])
    for recipient in sorted({author, *record.get("voters", [])}):
        send(ctx, POLL, int(recipient), author, status, activity_key(POLL, status))


def on_follow_events(ctx: StreamContext, record: Record) -> None:
    """Pass each follow event of the record to its followee's task, where its requesters are known.

    A record names one `followee`, or several `followees` (the follows one import made on one task).
    """
    op, follower = record["op"], record["follower"]
    for followee in record["followees"] if "followees" in record else [record["followee"]]:
        ctx.hop(followee, "follow_event", {"op": op, "follower": follower, "followee": followee, "at": ctx.time_ms})


def follow_event(ctx: TopologyContext, event: Record) -> None:
    """Turn one follow event into a notification written or removed (on the followee's task)."""
    op, follower, followee = event["op"], int(event["follower"]), int(event["followee"])
    requesters = ctx.pstate(REQUESTERS)
    follow_key, request_key = activity_key(FOLLOW, follower), activity_key(FOLLOW_REQUEST, follower)
    if op == "requested":
        requesters.add(followee, follower)
        payload = timeline.notification_payload(FOLLOW_REQUEST, followee, follower, None, request_key, event["at"])
        ctx.hop(followee, "notify", payload)
    elif op == "followed":
        if requesters.contains(followee, follower):  # an authorized request: no `follow` notification
            retract(ctx, followee, request_key)
        else:
            payload = timeline.notification_payload(FOLLOW, followee, follower, None, follow_key, event["at"])
            ctx.hop(followee, "notify", payload)
    elif op == "unfollowed":
        requesters.remove(followee, follower)
        retract(ctx, followee, follow_key)
    elif op in ("request_withdrawn", "rejected"):
        requesters.remove(followee, follower)
        retract(ctx, followee, request_key)


def on_blocks(ctx: StreamContext, record: Record) -> None:
    """Remove the blocker's notifications from the account it blocks (on the blocker's task)."""
    try:
        blocker, blocked = check_pair(record, "blocker", "blocked", BLOCK_OPS)
    except RecordRejected:
        return  # relationships refused the record: nothing was blocked
    if record["op"] == "block":
        ctx.hop(blocker, "forget_sender", {"recipient": blocker, "sender": blocked})
