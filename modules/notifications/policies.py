"""Mastodon 4.3's notification policies: what to accept, filter into requests, or drop, and the requests.

    $$notification_policies     account -> {"for_not_following", "for_not_followers", "for_new_accounts",
                                "for_private_mentions", "for_limited_accounts"}: "accept" | "filter" | "drop"
    $$notification_permissions  recipient -> senders whose request the recipient accepted
    $$notification_requests     recipient -> request id -> {"id", "account", "created_at", "updated_at"}
    $$request_of_sender         recipient -> sender -> request id

As Mastodon's NotifyService: a notification of a filterable type (mention, favourite, reblog, follow,
follow_request) from a sender the recipient has not accepted is checked against the criteria whose policy
is not "accept": the recipient does not follow the sender, the sender does not follow the recipient, the
sender's account is under 30 days old, it is a direct mention (not a reply to the recipient) from someone
the recipient does not follow, the sender is limited (moderation's `$$limited_accounts`, since before the
activity) and the recipient does not follow it. A matching "drop" drops the notification; else a matching
"filter" stores it flagged `filtered` (out of every list, count and group) under the sender's request,
whose id is its first filtered notification's. Accepting a request allows the sender from then on and
brings its notifications into the timeline; dismissing it removes them. A request's count and last status
are read from the timeline, so trimming, undoing (an unfavourite) or dismissing one notification keeps
them right without bookkeeping. A filtered notification is still one of the recipient's: Mastodon's
`GET /api/v1/notifications/:id` and dismiss find it by id (with `"filtered": true`), as `notification` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modules.moderation.limits import LIMITED, limited_at
from modules.notifications import grouping
from modules.notifications.records import FAVOURITE, FOLLOW, FOLLOW_REQUEST, MENTION, REBLOG, Record
from topology.context import ReadContext, RecordRejected, TopologyContext

POLICIES = "$$notification_policies"
PERMISSIONS = "$$notification_permissions"
REQUESTS = "$$notification_requests"
REQUEST_OF_SENDER = "$$request_of_sender"
FILTERABLE = (MENTION, FAVOURITE, REBLOG, FOLLOW, FOLLOW_REQUEST)
CHOICES = ("accept", "filter", "drop")
DEFAULT_POLICY: dict[str, str] = {
    "for_not_following": "accept",
    "for_not_followers": "accept",
    "for_new_accounts": "accept",
    "for_private_mentions": "filter",
    "for_limited_accounts": "filter",
}
NEW_ACCOUNT_MS = 30 * 24 * 3_600_000
MAX_REQUESTS_PAGE = 80

Payload = dict[str, Any]


def policy_of(ctx: ReadContext, account: int) -> dict[str, str]:
    """Return the account's policy (Mastodon's defaults where it never set one)."""
    return {**DEFAULT_POLICY, **(ctx.pstate(POLICIES).get(account) or {})}


def set_policy(ctx: TopologyContext, account: int, record: Record) -> dict[str, str]:
    """Change the criteria `record` names and return the whole policy."""
    changes = {name: record[name] for name in DEFAULT_POLICY if name in record}
    for name, choice in changes.items():
        if choice not in CHOICES:
            raise RecordRejected(f"{name} must be one of {list(CHOICES)}, got {choice!r}")
    policy = {**policy_of(ctx, account), **changes}
    ctx.pstate(POLICIES).put(account, policy)
    return policy


def verdict(ctx: TopologyContext, payload: Payload) -> str:
    """Return "accept", "filter" or "drop" for a notification about to be stored (on the recipient's task)."""
    recipient, sender = payload["recipient"], payload["account"]
    if payload["type"] not in FILTERABLE:
        return "accept"
    active = {name: choice for name, choice in policy_of(ctx, recipient).items() if choice != "accept"}
    matched = {choice for name, choice in active.items() if _matches(ctx, name, payload)}
    # The permission is read last: with Mastodon's defaults most notifications match no criterion.
    if not matched or ctx.pstate(PERMISSIONS).contains(recipient, sender):
        return "accept"
    return "drop" if "drop" in matched else "filter"


def _matches(ctx: TopologyContext, criterion: str, payload: Payload) -> bool:
    recipient, sender = payload["recipient"], payload["account"]
    following = ctx.pstate("$$following", module="relationships")
    if criterion == "for_not_following":
        return not following.contains(recipient, sender)
    if criterion == "for_not_followers":  # a follow's sender follows: its follow may not be committed yet
        return payload["type"] != FOLLOW and not following.contains(sender, recipient)
    if criterion == "for_new_accounts":
        account = ctx.pstate("$$accounts", module="core").get(sender)
        return account is not None and payload["at"] - int(account["created_at"]) < NEW_ACCOUNT_MS
    if criterion == "for_private_mentions":
        return bool(payload.get("private_mention")) and not following.contains(recipient, sender)
    if criterion == "for_limited_accounts":  # the follow first: it is on the recipient's task, the limit is not
        if following.contains(recipient, sender):
            return False
        return limited_at(ctx.pstate(LIMITED, module="moderation").get(sender), payload["at"])
    raise ValueError(f"unknown notification policy criterion {criterion!r}")


def hold(ctx: TopologyContext, recipient: int, sender: int, notification: int, at: int) -> None:
    """Note a filtered notification under the sender's request, opening the request if there is none."""
    by_sender, requests = ctx.pstate(REQUEST_OF_SENDER), ctx.pstate(REQUESTS)
    request_id = by_sender.get(recipient, sender)
    request = None if request_id is None else requests.get(recipient, request_id)
    if request is None:
        request_id = notification
        request = {"id": request_id, "account": sender, "created_at": at}
        by_sender.put(recipient, sender, request_id)
    requests.put(recipient, request_id, {**request, "updated_at": max(at, int(request.get("updated_at", at)))})


def settle(ctx: TopologyContext, recipient: int, request_id: int, accept: bool) -> bool:
    """Accept or dismiss one of the recipient's requests; return whether it existed."""
    requests = ctx.pstate(REQUESTS)
    request = requests.get(recipient, request_id)
    if request is None:
        return False
    sender = int(request["account"])
    if accept:
        ctx.pstate(PERMISSIONS).add(recipient, sender)
    for value in list(filtered_from(ctx, recipient, sender)):
        if accept:
            _admit(ctx, recipient, value)
        else:
            _drop(ctx, recipient, value)
    requests.remove(recipient, request_id)
    ctx.pstate(REQUEST_OF_SENDER).remove(recipient, sender)
    return True


def forget_request(ctx: TopologyContext, recipient: int, sender: int) -> None:
    """Drop the recipient's request from `sender`, if any (its notifications are gone already)."""
    request_id = ctx.pstate(REQUEST_OF_SENDER).get(recipient, sender)
    if request_id is not None:
        ctx.pstate(REQUESTS).remove(recipient, request_id)
        ctx.pstate(REQUEST_OF_SENDER).remove(recipient, sender)


def _admit(ctx: TopologyContext, recipient: int, value: Payload) -> None:
    payload = {"type": value["type"], "status": value["status"], "at": value["created_at"]}
    admitted = {k: v for k, v in value.items() if k != "filtered"}
    admitted["group_key"] = grouping.assign(ctx, recipient, payload, value["id"])
    ctx.pstate("$$notifications").put(recipient, value["id"], admitted)


def _drop(ctx: TopologyContext, recipient: int, value: Payload) -> None:
    ctx.pstate("$$notifications").remove(recipient, value["id"])
    ctx.pstate("$$notification_keys").remove(recipient, value["key"])


def filtered_from(ctx: ReadContext, recipient: int, sender: int | None = None) -> Iterator[Payload]:
    """Yield the recipient's filtered notifications (from `sender` only, if given), newest first."""
    for _, value in ctx.pstate("$$notifications").range(recipient, reverse=True):
        if value.get("filtered") and (sender is None or value["account"] == sender):
            yield value


def pending_requests(
    ctx: ReadContext, account: int, max_id: int | None = None, limit: int = 40
) -> list[dict[str, Any]]:
    """Return the account's pending requests below `max_id`, newest first, with their counts."""
    counts: dict[int, list[Payload]] = {}
    for value in filtered_from(ctx, account):
        counts.setdefault(int(value["account"]), []).append(value)
    rows = ctx.pstate(REQUESTS).range(account, None, max_id, reverse=True)
    out = []
    for _, request in rows:
        held = counts.get(int(request["account"]))
        if held:  # a request whose notifications all went (trimmed, undone) is not shown
            out.append(_with_counts(request, held))
        if len(out) >= max(1, min(limit, MAX_REQUESTS_PAGE)):
            break
    return out


def pending_request(ctx: ReadContext, account: int, request_id: int) -> dict[str, Any] | None:
    """Return one of the account's pending requests with its counts, or None."""
    found = ctx.pstate(REQUESTS).get(account, request_id)
    if found is None:
        return None
    held = list(filtered_from(ctx, account, int(found["account"])))
    return _with_counts(found, held) if held else None


def policy_summary(ctx: ReadContext, account: int) -> dict[str, Any]:
    """Return the account's policy with Mastodon's summary of what waits in requests."""
    held = list(filtered_from(ctx, account))
    senders = {int(value["account"]) for value in held}
    summary = {"pending_requests_count": len(senders), "pending_notifications_count": len(held)}
    return {**policy_of(ctx, account), "summary": summary}


def _with_counts(found: dict[str, Any], held: list[Payload]) -> dict[str, Any]:
    statuses = [value["status"] for value in held if value["status"] is not None]
    return {**found, "notifications_count": len(held), "last_status": statuses[0] if statuses else None}
