"""Boosts (reblogs): a boost is a status of the booster with `reblog_of`, made by the statuses topology.

    *reblogs        {"op": "reblog", "account", "status", "visibility"?: "public" | "unlisted" | "private"}
                    {"op": "unreblog", "account", "status"}            partitioned by account
    $$boost_of      booster -> original -> boost id       on the booster's task: one boost per account per
                                                          status (a second reblog returns the first boost)
    $$reblogged_by  original -> boost id -> booster       on the original's task: `reblogs_count`,
                                                          `reblogged_by`, newest boost first

Rules (Mastodon's ReblogService and StatusPolicy, `visibility.refusal`): a boost of a boost boosts its
original; direct statuses cannot be boosted, private ones only by their author (the boost stays private);
a blocked or blocking author refuses. The boost is stored and fanned out like any status: followers who
follow the booster with `reblogs: false`, and the original's author, do not get it (`recipients`).
Unreblogging, deleting the boost, or deleting the original (which deletes every boost of it, on each
booster's task) all go through `statuses.remove_status`; the original's task then drops the link and emits
`unreblogged` on `*interactions`. `reblogged` is emitted there when the link is first made, so a retried
record emits once. The original's author rides along in the boost as `reblog_author` (fanout needs it).

Home timelines: Mastodon does not add a boost to a home feed when its original is among the feed's
newest `REBLOG_FALLOFF` entries, or another boost of it is in the feed. Timelines here hold ids only and
fanout does not read them, so the rule is applied when a page is read (`without_repeated_boosts`): a boost
is left out when its original is among the 40 ids below it in that timeline, or another boost of the
same original is older on the same page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modules.core.account_lists import MAX_ACCOUNTS_PAGE, entry_page
from modules.core.delivery import Delivery, delivery_of
from modules.core.ids import REBLOGS_SOURCE, STATUS_CLOCK, issue_id
from modules.core.records import Record, check_id
from modules.core.statuses import is_live, remove_status
from modules.core.visibility import BOOSTABLE_VISIBILITIES, refusal, relation
from pstates.schema import Map, SortedMap
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext
from topology.module import StreamTopologySpec

REBLOG_FALLOFF = 40  # Mastodon's FeedManager: a boost of something this close in the feed is not added


def declare(topology: StreamTopologySpec) -> None:
    """Declare the boost PStates, source and steps on the statuses topology."""
    topology.pstate("$$boost_of", Map(int, SortedMap(int, int)))
    topology.pstate("$$reblogged_by", Map(int, SortedMap(int, int)))
    topology.source("*reblogs", on_reblogs)
    for step in (add_reblog, remove_reblog, drop_boost):
        topology.step(step)


def on_reblogs(ctx: StreamContext, record: Record) -> int | None:
    """Apply a reblog (return the boost id) or an unreblog (return the removed boost's id, or None)."""
    op = record.get("op")
    account = check_id(record.get("account"), "account")
    status_id = check_id(record.get("status"), "status")
    if op == "reblog":
        return reblog(ctx, account, status_id, record.get("visibility", "public"))
    if op == "unreblog":
        return unreblog(ctx, account, status_id)
    raise RecordRejected(f"unknown op {op!r}: expected 'reblog' or 'unreblog'")


def reblog(ctx: StreamContext, account: int, status_id: int, visibility: object) -> int:
    """Boost `status_id` as `account`, or return the boost `account` already made of it."""
    if visibility not in BOOSTABLE_VISIBILITIES:
        raise RecordRejected(f"a boost's visibility is one of {list(BOOSTABLE_VISIBILITIES)}, got {visibility!r}")
    existing = ctx.pstate("$$boost_of").get(account, status_id)
    if existing is not None:
        return int(existing)
    original = ctx.query("core", "status", status_id)
    if original is None:
        raise RecordRejected(f"unknown status {status_id}", "not_found")
    if original.get("reblog_of") is not None:  # Mastodon boosts the original of a boost
        return reblog(ctx, account, int(original["reblog_of"]), visibility)
    if not ctx.pstate("$$accounts").contains(account):  # the account lives on this task
        raise RecordRejected(f"unknown account {account}", "not_found")
    refused = refusal("reblog", original, account, relation(ctx, account, original["author"], ctx.time_ms))
    if refused is not None:
        raise refused
    boost = new_boost(ctx, account, original, str(visibility))
    delivery = delivery_of(boost, None)
    ctx.pstate("$$boost_of").put(account, status_id, boost["id"])
    ctx.pstate("$$author_statuses").put(account, boost["id"], delivery)
    ctx.hop(boost["id"], "store_status", boost)
    ctx.append("*statuses_with_id", {"op": "create", "status": delivery, "text": ""})
    return int(boost["id"])


def new_boost(ctx: StreamContext, account: int, original: dict[str, Any], visibility: str) -> dict[str, Any]:
    """Return the boost status of `original` by `account` (a private original keeps its boost private)."""
    boost_id = issue_id(ctx, "statuses", STATUS_CLOCK, REBLOGS_SOURCE)
    return {
        "id": boost_id,
        "author": account,
        "uuid": None,
        "text": "",
        "visibility": "private" if original["visibility"] == "private" else visibility,
        "in_reply_to": None,
        "in_reply_to_account": None,
        "language": None,
        "mentions": [],
        "tags": [],
        "conversation": boost_id,
        "spoiler_text": "",
        "sensitive": False,
        "media": [],
        "poll": None,
        "edited_at": None,
        "created_at": ctx.time_ms,
        "reblog_of": original["id"],
        "reblog_author": original["author"],
    }


def unreblog(ctx: StreamContext, account: int, status_id: int) -> int | None:
    """Delete `account`'s boost of `status_id`, if any (a repeat is a no-op)."""
    boost_id = ctx.pstate("$$boost_of").get(account, status_id)
    if boost_id is None:
        return None
    remove_status(ctx, account, int(boost_id))
    return int(boost_id)


# -- steps ---------------------------------------------------------------------------------------------


def add_reblog(ctx: TopologyContext, link: dict[str, Any]) -> None:
    """Link a stored boost to its original (on the original's task); a vanished original drops the boost."""
    original = ctx.pstate("$$statuses").get(link["original"])
    if not is_live(original):
        ctx.hop(link["account"], "drop_boost", [link["account"], link["boost"]])
        return
    reblogged_by = ctx.pstate("$$reblogged_by")
    if reblogged_by.contains(link["original"], link["boost"]):
        return  # a repeated hop: linked and announced already
    reblogged_by.put(link["original"], link["boost"], link["account"])
    ctx.append("*interactions", event("reblogged", link, original["author"]))


def remove_reblog(ctx: TopologyContext, link: dict[str, Any]) -> None:
    """Unlink a deleted boost from its original (on the original's task)."""
    if ctx.pstate("$$reblogged_by").remove(link["original"], link["boost"]):
        original = ctx.pstate("$$statuses").get(link["original"]) or {}
        ctx.append("*interactions", event("unreblogged", link, original.get("author")))


def drop_boost(ctx: TopologyContext, payload: list[int]) -> None:
    """Delete a boost whose original is gone (on the booster's task; a repeat is a no-op)."""
    booster, boost_id = payload
    remove_status(ctx, booster, boost_id)


def event(op: str, link: dict[str, Any], author: int | None) -> dict[str, Any]:
    """Return the `*interactions` record of a boost link."""
    return {"op": op, "account": link["account"], "status": link["original"], "author": author, "boost": link["boost"]}


# -- fanout and home timelines -------------------------------------------------------------------------


def recipients(status: Delivery, page: list[tuple[int, Any]]) -> list[int]:
    """The followers of `page` a boost reaches: not its original's author, not those hiding the booster's boosts."""
    author, original_author = status["author"], status.get("reblog_author")
    return [
        f
        for f, options in page
        if f != author and f != original_author and options is not None and options.get("reblogs", True)
    ]


def without_repeated_boosts(
    ids: list[int], found: dict[int, Any], boosted: set[int], older: Callable[[int], list[int]]
) -> list[int]:
    """Drop from `ids` (newest first) the boosts a Mastodon home feed would not have taken in.

    A boost is left out when its original is among the `REBLOG_FALLOFF` ids just below it (`older(id)`) or
    another boost of it is already on the page (`boosted`, the originals boosted so far, updated here).
    """
    keep: list[int] = []
    for status_id in reversed(ids):  # oldest first: the first boost of an original wins
        original = (found.get(status_id) or {}).get("reblog_of")
        if original is not None:
            if original in boosted or original in older(status_id):
                continue
            boosted.add(original)
        keep.append(status_id)
    return keep[::-1]


# -- queries -------------------------------------------------------------------------------------------


def reblogged_by(
    ctx: ReadContext,
    status_id: int,
    max_id: int | None = None,
    limit: int = 40,
    since_id: int | None = None,
    min_id: int | None = None,
) -> list[list[int]]:
    """Return `[boost id, booster]` of `status_id`'s boosts between the bounds, newest first (routed by status)."""
    return entry_page(ctx.pstate("$$reblogged_by"), status_id, max_id, since_id, min_id, limit, MAX_ACCOUNTS_PAGE)
