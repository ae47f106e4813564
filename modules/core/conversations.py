"""Direct conversations (Mastodon's `/api/v1/conversations`): per participant, the direct threads they are in.

    sources  *statuses_with_id  direct creates and deletes (on the author's task)
             *conversations     {"op": "read" | "remove", "account", "conversation"}   by account
    PStates  $$direct_statuses  author -> status id -> {"conversation", "participants"}   on the author's task
             $$direct_conversations  account -> conversation id -> {"conversation", "accounts" (the other
                                     participants), "statuses" (ids, oldest first), "last_status", "unread"}
             $$direct_recent    account -> last status id -> conversation id      newest-first listing

An entry is keyed by the thread's conversation id (Mastodon also splits a thread by participant set; one
entry per thread is what clients show). A direct status adds itself to the entry of its author and of each
mentioned account; as in Mastodon, the entry is then unread for everyone but the status' author (so one's
own reply marks it read). Deleting the status takes it out again; an entry left with no status goes.
`read` clears `unread`; `remove` drops the entry until the next direct status in that thread. Blocks and
mutes are left to hydration. Writes on participants' tasks are hops: adding a status already in an entry
changes nothing, so a retried record does not mark a conversation unread again. Each change of an entry by
a status (added or taken out) emits `{"account", "conversation"}` on the `conversations` output (the
streaming API sends the Conversation to the participant's `direct` stream).
"""

from __future__ import annotations

from typing import Any

from modules.core.account_lists import page_rows
from modules.core.records import Record, check_id
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

Entry = dict[str, Any]


def on_statuses(ctx: StreamContext, record: Record) -> None:
    """Add a new direct status to its participants' conversations, or take a deleted one out."""
    op = record.get("op")
    if op == "create" and record["status"]["visibility"] == "direct":
        status = record["status"]
        participants = sorted({status["author"], *status["mentions"]})
        conversation = record.get("conversation") or status["id"]
        ctx.pstate("$$direct_statuses").put(
            status["author"], status["id"], {"conversation": conversation, "participants": participants}
        )
        for account in participants:
            others = [p for p in participants if p != account]
            change = {"account": account, "conversation": conversation, "status": status["id"], "others": others}
            ctx.hop(account, "add_to_conversation", {**change, "unread": account != status["author"]})
    elif op == "delete":
        found = ctx.pstate("$$direct_statuses").get(record["author"], record["id"])
        if found is not None:
            ctx.pstate("$$direct_statuses").remove(record["author"], record["id"])
            for account in found["participants"]:
                change = {"account": account, "conversation": found["conversation"], "status": record["id"]}
                ctx.hop(account, "remove_from_conversation", change)


def on_conversations(ctx: StreamContext, record: Record) -> int:
    """Mark an account's conversation read, or remove it; return the conversation id."""
    account = check_id(record.get("account"), "account")
    conversation = check_id(record.get("conversation"), "conversation")
    entry = ctx.pstate("$$direct_conversations").get(account, conversation)
    if entry is None:
        raise RecordRejected(f"account {account} has no conversation {conversation}", "not_found")
    op = record.get("op")
    if op == "read":
        ctx.pstate("$$direct_conversations").put(account, conversation, {**entry, "unread": False})
    elif op == "remove":
        _drop(ctx, account, entry)
    else:
        raise RecordRejected(f"unknown op {op!r}: expected 'read' or 'remove'")
    return conversation


def add_to_conversation(ctx: TopologyContext, change: dict[str, Any]) -> None:
    """Add a status to one participant's entry (on their task)."""
    account, conversation, status_id = change["account"], change["conversation"], change["status"]
    entries = ctx.pstate("$$direct_conversations")
    entry = entries.get(account, conversation) or {
        "conversation": conversation,
        "accounts": [],
        "statuses": [],
        "last_status": None,
        "unread": False,
    }
    if status_id in entry["statuses"]:
        return
    statuses = sorted([*entry["statuses"], status_id])
    accounts = sorted({*entry["accounts"], *change["others"]})
    # As Mastodon's AccountConversation: a status by someone else makes it unread, one's own reply reads it.
    unread = change["unread"]
    _store(ctx, account, entry, {**entry, "statuses": statuses, "accounts": accounts, "unread": unread})


def remove_from_conversation(ctx: TopologyContext, change: dict[str, Any]) -> None:
    """Take a deleted status out of one participant's entry; drop the entry if it is left empty."""
    account = change["account"]
    entry = ctx.pstate("$$direct_conversations").get(account, change["conversation"])
    if entry is None or change["status"] not in entry["statuses"]:
        return
    statuses = [s for s in entry["statuses"] if s != change["status"]]
    if statuses:
        _store(ctx, account, entry, {**entry, "statuses": statuses})
    else:
        _drop(ctx, account, entry)


def direct_conversations(
    ctx: ReadContext,
    account: int,
    max_id: int | None = None,
    limit: int = 20,
    since_id: int | None = None,
    min_id: int | None = None,
) -> list[Entry]:
    """Return `account`'s conversations whose last status is between the bounds, most recent first."""
    recent = page_rows(ctx.pstate("$$direct_recent"), account, max_id, since_id, min_id, limit)
    found = [ctx.pstate("$$direct_conversations").get(account, conversation) for _, conversation in recent]
    return [entry for entry in found if entry is not None]


def direct_conversation(ctx: ReadContext, account: int, conversation: int) -> Entry | None:
    """Return one of `account`'s conversation entries, or None."""
    found: Entry | None = ctx.pstate("$$direct_conversations").get(account, conversation)
    return found


def _store(ctx: TopologyContext, account: int, old: Entry, new: Entry) -> None:
    new["last_status"] = new["statuses"][-1]
    if old["last_status"] != new["last_status"]:
        recent = ctx.pstate("$$direct_recent")
        if old["last_status"] is not None:
            recent.remove(account, old["last_status"])
        recent.put(account, new["last_status"], new["conversation"])
    ctx.pstate("$$direct_conversations").put(account, new["conversation"], new)
    ctx.emit("conversations", {"account": account, "conversation": new["conversation"]})


def _drop(ctx: TopologyContext, account: int, entry: Entry) -> None:
    ctx.pstate("$$direct_conversations").remove(account, entry["conversation"])
    if entry["last_status"] is not None:
        ctx.pstate("$$direct_recent").remove(account, entry["last_status"])
