"""The `interactions` stream topology: favourites, bookmarks, pins and conversation mutes.

    *favourites          {"op": "favourite" | "unfavourite", "account", "status"}
    *bookmarks           {"op": "bookmark" | "unbookmark", "account", "status"}
    *pins                {"op": "pin" | "unpin", "account", "status"}
    *conversation_mutes  {"op": "mute" | "unmute", "account", "status"}      every one partitioned by account
    *interactions        internal, appended once per effective change: favourites on the status' task,
                         {"op": "favourited", "account", "status", "author", "favourite", "visibility",
                          "text", "mentions"}, {"op": "unfavourited", "account", "status", "author",
                          "favourite"}; bookmarks on the account's task, {"op": "bookmarked", "account",
                          "status", "author", "bookmark", "visibility", "text", "mentions"},
                         {"op": "unbookmarked", "account", "status", "bookmark"}
                         (boosts add {"op": "reblogged" | "unreblogged", ..., "boost"}, see `boosts`)

    $$favourite_ids / $$account_favourites    the account's favourites (`account_lists`)
    $$bookmark_ids / $$account_bookmarks      the account's bookmarks
    $$pin_ids / $$account_pins                the account's pinned statuses
    $$favourited_by       status -> favourite id -> account      on the status' task: `favourites_count`,
                                                                 `favourited_by`, newest first
    $$conversation_mutes  account -> thread root ids             on the account's task
    $$interaction_id_clock ("interactions"[#source], salt) -> last entry id issued on that task for one
                           list (favourites 0, bookmarks 1, pins 2: `modules.ids` sources)

Every record starts on the account's task, where its list decides idempotency: a repeated favourite finds
the status listed and does nothing, so it neither hops nor emits. A favourite then hops to the status'
task, which adds the account to `$$favourited_by` and emits `favourited` only if the entry is new there
(an at-least-once repeat of the hop emits nothing). Events carry the favourite id so a consumer can also
drop a repeat a crash let through (the engine may re-append a record of a retried round). `favourited` and
`bookmarked` carry what the status was when it was acted on (visibility, text, mentions): trends counts
public favourites, search indexes the words for the account, and neither has to read core again (a
replay then rebuilds the same indexes whatever became of the status since).

Rules: favouriting and bookmarking need the status to be visible to the account (`visibility.refusal`);
a boost stands for its original. Pins (Mastodon's StatusPinValidator): own statuses only, not boosts, not
direct, at most `PIN_LIMIT` live pins. A conversation mute keys on the status' thread root. Deleting a
status leaves favourites, bookmarks and pins of it behind: hydration and `pinned` drop dead statuses.
"""

from __future__ import annotations

from typing import Any

from depots.declaration import hash_by, internal
from modules.core.account_lists import MAX_ACCOUNTS_PAGE, AccountList, entry_page
from modules.core.records import Record, check_id
from modules.core.status_effects import thread_root
from modules.core.visibility import refusal, relation
from pstates.schema import Map, SortedMap, SortedSet
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext
from topology.module import ModuleBuilder

FAVOURITES = AccountList("$$favourite_ids", "$$account_favourites", 0)
BOOKMARKS = AccountList("$$bookmark_ids", "$$account_bookmarks", 1)
PINS = AccountList("$$pin_ids", "$$account_pins", 2)
PIN_LIMIT = 5
PIN_ERRORS = {
    "limit": "You have already pinned the maximum number of posts",
    "ownership": "Someone else's post cannot be pinned",
    "reblog": "A boost cannot be pinned",
    "direct": "Posts that are only visible to mentioned users cannot be pinned",
}


def define(m: ModuleBuilder) -> None:
    """Declare the depots, the `interactions` topology and its PStates."""
    for depot in ("*favourites", "*bookmarks", "*pins", "*conversation_mutes"):
        m.depot(depot, hash_by(account_key))
    m.depot("*interactions", internal())
    topology = m.stream("interactions")
    for account_list in (FAVOURITES, BOOKMARKS, PINS):
        account_list.declare(topology)
    topology.pstate("$$favourited_by", Map(int, SortedMap(int, int)))
    topology.pstate("$$conversation_mutes", Map(int, SortedSet(int)))
    topology.pstate("$$interaction_id_clock", Map((str, int), int))
    topology.source("*favourites", on_favourites)
    topology.source("*bookmarks", on_bookmarks)
    topology.source("*pins", on_pins)
    topology.source("*conversation_mutes", on_conversation_mutes)
    topology.step(favourite_target)
    topology.step(unfavourite_target)


def account_key(record: object) -> object:
    """Return the key an interaction record is partitioned by: the account acting."""
    if not isinstance(record, dict):
        raise TypeError(f"core records are dicts, got {type(record).__name__}")
    return record.get("account")


# -- favourites ----------------------------------------------------------------------------------------


def on_favourites(ctx: StreamContext, record: Record) -> int:
    """Favourite or unfavourite a status; return the status id acted on (a boost's original)."""
    op, account, status_id = parse(ctx, record, ("favourite", "unfavourite"))
    if op == "unfavourite":
        return unfavourite(ctx, account, status_id)
    if FAVOURITES.entry_of(ctx, account, status_id) is not None:
        return status_id  # a repeat: nothing to do, nothing to emit
    status = visible_original(ctx, account, status_id, "favourite")
    entry = FAVOURITES.add(ctx, account, status["id"])
    if entry is not None:
        target = {"status": status["id"], "account": account, "favourite": entry, **acted_on(status)}
        ctx.hop(status["id"], "favourite_target", target)
    return int(status["id"])


def acted_on(status: dict[str, Any]) -> dict[str, Any]:
    """Return what a `favourited` or `bookmarked` event says of its status (for trends and search)."""
    return {
        "author": status["author"],
        "visibility": status["visibility"],
        "text": status.get("text", ""),
        "mentions": list(status.get("mentions") or []),
    }


def unfavourite(ctx: StreamContext, account: int, status_id: int) -> int:
    """Take `status_id` (or, for a boost, its original) out of `account`'s favourites."""
    status_id = listed_id(ctx, FAVOURITES, account, status_id)
    entry = FAVOURITES.remove(ctx, account, status_id)
    if entry is not None:
        ctx.hop(status_id, "unfavourite_target", {"status": status_id, "account": account, "favourite": entry})
    return status_id


def favourite_target(ctx: TopologyContext, target: dict[str, Any]) -> None:
    """Count the favourite on the status' task and announce it once."""
    favourited_by = ctx.pstate("$$favourited_by")
    if favourited_by.contains(target["status"], target["favourite"]):
        return
    favourited_by.put(target["status"], target["favourite"], target["account"])
    ctx.append("*interactions", {"op": "favourited", **target})


def unfavourite_target(ctx: TopologyContext, target: dict[str, Any]) -> None:
    """Uncount the favourite on the status' task and announce it once."""
    if ctx.pstate("$$favourited_by").remove(target["status"], target["favourite"]):
        status = ctx.pstate("$$statuses").get(target["status"]) or {}  # a tombstone keeps its author
        ctx.append("*interactions", {"op": "unfavourited", **target, "author": status.get("author")})


# -- bookmarks, pins, conversation mutes ---------------------------------------------------------------


def on_bookmarks(ctx: StreamContext, record: Record) -> int:
    """Bookmark or unbookmark a status; return the status id acted on."""
    op, account, status_id = parse(ctx, record, ("bookmark", "unbookmark"))
    if op == "unbookmark":
        status_id = listed_id(ctx, BOOKMARKS, account, status_id)
        entry = BOOKMARKS.remove(ctx, account, status_id)
        if entry is not None:
            ctx.append(
                "*interactions", {"op": "unbookmarked", "account": account, "status": status_id, "bookmark": entry}
            )
        return status_id
    if BOOKMARKS.entry_of(ctx, account, status_id) is None:
        status = visible_original(ctx, account, status_id, "bookmark")
        status_id = int(status["id"])
        entry = BOOKMARKS.add(ctx, account, status_id)
        if entry is not None:
            event = {"op": "bookmarked", "account": account, "status": status_id, "bookmark": entry}
            ctx.append("*interactions", {**event, **acted_on(status)})
    return status_id


def on_pins(ctx: StreamContext, record: Record) -> int:
    """Pin or unpin one of the account's own statuses; return its id."""
    op, account, status_id = parse(ctx, record, ("pin", "unpin"))
    if op == "unpin":
        PINS.remove(ctx, account, status_id)
    elif PINS.entry_of(ctx, account, status_id) is None:
        check_pinnable(ctx, account, status_id)
        PINS.add(ctx, account, status_id)
    return status_id


def check_pinnable(ctx: StreamContext, account: int, status_id: int) -> None:
    """Reject a pin Mastodon's validator refuses; forget pins of deleted statuses before counting."""
    delivery = ctx.pstate("$$author_statuses").get(account, status_id)  # the account's own statuses are here
    if delivery is None:
        if ctx.query("core", "status", status_id) is None:
            raise RecordRejected(f"unknown status {status_id}", "not_found")
        raise RecordRejected(PIN_ERRORS["ownership"])
    if delivery.get("reblog_of") is not None:
        raise RecordRejected(PIN_ERRORS["reblog"])
    if delivery["visibility"] == "direct":
        raise RecordRejected(PIN_ERRORS["direct"])
    if PINS.size(ctx, account) >= PIN_LIMIT:
        authored = ctx.pstate("$$author_statuses")
        for _, pinned_id in PINS.newest(ctx, account):
            if not authored.contains(account, pinned_id):
                PINS.remove(ctx, account, pinned_id)
        if PINS.size(ctx, account) >= PIN_LIMIT:
            raise RecordRejected(PIN_ERRORS["limit"], "limit")


def on_conversation_mutes(ctx: StreamContext, record: Record) -> int:
    """Mute or unmute the conversation (thread) of a visible status; return the thread root id."""
    op, account, status_id = parse(ctx, record, ("mute", "unmute"))
    thread = thread_root(visible_status(ctx, account, status_id, "mute"))
    mutes = ctx.pstate("$$conversation_mutes")
    if op == "mute":
        mutes.add(account, thread)
    else:
        mutes.remove(account, thread)
    return thread


# -- checks --------------------------------------------------------------------------------------------


def parse(ctx: StreamContext, record: Record, ops: tuple[str, str]) -> tuple[str, int, int]:
    """Return the record's (op, account, status), rejecting unknown ops and accounts."""
    op = record.get("op")
    if op not in ops:
        raise RecordRejected(f"unknown op {op!r}: expected one of {list(ops)}")
    account = check_id(record.get("account"), "account")
    status_id = check_id(record.get("status"), "status")
    if not ctx.pstate("$$accounts").contains(account):  # the account lives on this task
        raise RecordRejected(f"unknown account {account}", "not_found")
    return str(op), account, status_id


def visible_status(ctx: StreamContext, account: int, status_id: int, action: str) -> dict[str, Any]:
    """Return the live status `status_id` if `account` may `action` it, else reject."""
    status: dict[str, Any] | None = ctx.query("core", "status", status_id)
    if status is None:
        raise RecordRejected(f"unknown status {status_id}", "not_found")
    refused = refusal(action, status, account, relation(ctx, account, status["author"], ctx.time_ms))
    if refused is not None:
        raise refused
    return status


def visible_original(ctx: StreamContext, account: int, status_id: int, action: str) -> dict[str, Any]:
    """Return the status (a boost's original in its place) if `account` may `action` it, else reject."""
    status = visible_status(ctx, account, status_id, action)
    if status.get("reblog_of") is None:
        return status
    return visible_status(ctx, account, int(status["reblog_of"]), action)


def listed_id(ctx: StreamContext, account_list: AccountList, account: int, status_id: int) -> int:
    """Return the id under which `status_id` is listed: itself, or for a boost its original."""
    if account_list.entry_of(ctx, account, status_id) is not None:
        return status_id
    status = ctx.query("core", "status", status_id)
    original = None if status is None else status.get("reblog_of")
    return status_id if original is None else int(original)


# -- queries -------------------------------------------------------------------------------------------


def favourites(ctx: ReadContext, account: int, *page: Any) -> list[list[int]]:
    """Return `[favourite id, status id]` of `account`'s favourites, newest first (max/since/min, limit)."""
    return FAVOURITES.page(ctx, account, *page)


def bookmarks(ctx: ReadContext, account: int, *page: Any) -> list[list[int]]:
    """Return `[bookmark id, status id]` of `account`'s bookmarks, newest first (max/since/min, limit)."""
    return BOOKMARKS.page(ctx, account, *page)


def pinned(ctx: ReadContext, account: int) -> list[int]:
    """Return `account`'s pinned status ids, the latest pin first, deleted statuses left out."""
    authored = ctx.pstate("$$author_statuses")
    return [status_id for _, status_id in PINS.newest(ctx, account) if authored.contains(account, status_id)]


def favourited_by(
    ctx: ReadContext,
    status_id: int,
    max_id: int | None = None,
    limit: int = 40,
    since_id: int | None = None,
    min_id: int | None = None,
) -> list[list[int]]:
    """Return `[favourite id, account]` of who favourited `status_id`, newest first (routed by status)."""
    return entry_page(ctx.pstate("$$favourited_by"), status_id, max_id, since_id, min_id, limit, MAX_ACCOUNTS_PAGE)


def muted_conversation(ctx: ReadContext, account: int, status_id: int, thread: int | None = None) -> bool:
    """Whether `account` muted the conversation of `status_id` (pass `thread` when the status is at hand)."""
    if thread is None:
        status = ctx.query("core", "status", status_id)
        if status is None:
            return False
        thread = thread_root(status)
    return bool(ctx.pstate("$$conversation_mutes").contains(account, thread))
