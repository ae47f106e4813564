"""Group keys of Mastodon 4.3's grouped notifications (`/api/v2/notifications`), and the grouping of a page.

Mastodon groups favourites and reblogs of one status (`favourite-<status>`, `reblog-<status>`) and follows
(`follow`), suffixed with an hour bucket: a notification joins the group's current bucket while it is
less than `MAXIMUM_GROUP_SPAN_HOURS` after the bucket's start, else it opens a new bucket (its own hour).
Every other notification is its own group, `ungrouped-<id>`. Mastodon keeps the current bucket in Redis
with a TTL; here it is `$$notification_groups` (recipient -> prefix -> {"bucket", "latest"}), dropped
when the group's latest notification goes (trim, dismiss, clear), so the index never outgrows the timeline.
Hours come from the source record's time, so a replay assigns the same keys, and `latest` is the group's newest
notification id (not the last one processed), so a replay meeting them in another order stores the same
entry. Not order-free: the bucket is the hour of the first notification *processed*, so a group whose
first notifications straddle an hour and come from different partitions may bucket differently on replay.

A page of groups (`group_page`) is Mastodon's: walk notifications newest first (oldest first after
`min_id`), keep the first one of each group until `limit` groups; then each group reports the whole
group up to the page's newest id: `notifications_count`, `most_recent_notification_id`, up to
`SAMPLE_ACCOUNTS` sample accounts, and the group's oldest id in the page range (`page_min_id`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.notifications.records import FAVOURITE, FOLLOW, REBLOG
from topology.context import ReadContext, TopologyContext

GROUPS = "$$notification_groups"
GROUPABLE = (FAVOURITE, REBLOG, FOLLOW)
MAXIMUM_GROUP_SPAN_HOURS = 12
HOUR_MS = 3_600_000
SAMPLE_ACCOUNTS = 8

Notification = dict[str, Any]


def prefix_of(kind: str, status: int | None) -> str | None:
    """Return the group prefix of a notification of `kind` about `status`, or None if it does not group."""
    if kind == FOLLOW:
        return FOLLOW
    if kind in (FAVOURITE, REBLOG) and status is not None:
        return f"{kind}-{status}"
    return None


def assign(ctx: TopologyContext, recipient: int, payload: dict[str, Any], notification: int) -> str:
    """Return the group key of a new notification and advance its group's entry (on the recipient's task)."""
    prefix = prefix_of(payload["type"], payload["status"])
    if prefix is None:
        return f"ungrouped-{notification}"
    groups = ctx.pstate(GROUPS)
    hour = payload["at"] // HOUR_MS
    current = groups.get(recipient, prefix)
    latest = notification
    if current is not None and hour < current["bucket"] + MAXIMUM_GROUP_SPAN_HOURS:
        hour = current["bucket"]
        # The newest id, not the last one processed: two favourites of one status come from different
        # partitions (hops to the status' task), whose order a replay does not reproduce.
        latest = max(int(current["latest"]), notification)
    groups.put(recipient, prefix, {"bucket": hour, "latest": latest})
    return f"{prefix}-{hour}"


def forget(ctx: TopologyContext, recipient: int, value: Notification) -> None:
    """Drop the group entry whose latest notification `value` was (it is being removed)."""
    prefix = prefix_of(value["type"], value["status"])
    if prefix is None:
        return
    groups = ctx.pstate(GROUPS)
    current = groups.get(recipient, prefix)
    if current is not None and current["latest"] == value["id"]:
        groups.remove(recipient, prefix)


def effective_key(value: Notification, grouped_types: Iterable[str] | None) -> str:
    """Return the key a notification groups under when the client groups only `grouped_types`."""
    if grouped_types is not None and value["type"] not in grouped_types:
        return f"ungrouped-{value['id']}"
    return str(value["group_key"])


def group_page(
    walk: Iterable[Notification],
    members: list[Notification],
    limit: int,
    grouped_types: Iterable[str] | None,
) -> list[dict[str, Any]]:
    """Return up to `limit` groups in walk order; `members` are all candidates, newest first, for the counts."""
    types = None if grouped_types is None else frozenset(grouped_types)
    leaders: dict[str, Notification] = {}
    for value in walk:
        key = effective_key(value, types)
        if key not in leaders:
            leaders[key] = value
            if len(leaders) == limit:
                break
    if not leaders:
        return []
    low = min(value["id"] for value in leaders.values())
    high = max(value["id"] for value in leaders.values())
    by_key: dict[str, list[Notification]] = {}
    for value in members:
        if value["id"] <= high:
            by_key.setdefault(effective_key(value, types), []).append(value)
    return [summary(key, leader, by_key.get(key, [leader]), low) for key, leader in leaders.items()]


def summary(key: str, leader: Notification, group: list[Notification], low: int) -> dict[str, Any]:
    """Return one group: `group` is its notifications up to the page's newest id, newest first."""
    samples: list[int] = []
    for value in group:
        if value["account"] not in samples and len(samples) < SAMPLE_ACCOUNTS:
            samples.append(value["account"])
    in_page = [value["id"] for value in group if value["id"] >= low]
    return {
        "group_key": key,
        "type": leader["type"],
        "status": leader["status"],
        "notifications_count": len(group),
        "most_recent_notification_id": group[0]["id"],
        "sample_account_ids": samples,
        "page_min_id": min(in_page, default=leader["id"]),
        "page_max_id": max(in_page, default=leader["id"]),
        "latest_page_notification_at": group[0]["created_at"],
    }


def read_all(ctx: ReadContext, account: int) -> list[Notification]:
    """Return every notification of `account`, newest first (at most the cap)."""
    return [value for _, value in ctx.pstate("$$notifications").range(account, reverse=True)]
