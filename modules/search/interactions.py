"""Statuses an account may search because it favourited or bookmarked them (core's `*interactions`).

    source   core's *interactions: favourited / unfavourited (on the status' task), bookmarked / unbookmarked
             (on the account's task); reblog events are left out (boosts are statuses without words)
    step     index_interaction  on the account's task: note the reason, (un)index the status' words
    $$interaction_words  account -> status id -> {"reasons": {reason: [entry id, live]}, "words": [word]}

Mastodon's `searchable_by` adds the accounts that favourited or bookmarked a status, and drops them when
they take it back, unless another reason remains. Words come with the event (the status' text when it was
acted on), never from a read of core, so a replay indexes the same words. The author and mentioned accounts
already have the status' words (`indexing.on_statuses`) and are skipped here: taking back a favourite must
not unindex their own status.

Events of one kind for one pair arrive in order (one partition), but a crash may re-append an old one. Entry
ids (favourite / bookmark ids) grow with each new favourite of the pair and its undoing carries the same
id, so a reason keeps the latest (id, undone) it saw and an event that is not later changes nothing. A
favourite and a bookmark travel on different partitions in any order: reasons are per kind and words the
union, so the order does not matter.
"""

from __future__ import annotations

from typing import Any

from modules.search.tokens import tokens
from topology.context import Batch, BatchContext

EVENTS = {
    "favourited": ("favourite", "favourite", True),
    "unfavourited": ("favourite", "favourite", False),
    "bookmarked": ("bookmark", "bookmark", True),
    "unbookmarked": ("bookmark", "bookmark", False),
}


def on_interactions(ctx: BatchContext, batch: Batch) -> None:
    """Pass each favourite and bookmark (or its undoing) to the acting account's task."""
    for record in batch.values:
        event = EVENTS.get(record.get("op", ""))
        if event is None:
            continue
        reason, id_field, live = event
        account = record["account"]
        if live and (account == record.get("author") or account in record.get("mentions", ())):
            continue  # already searchable by its own right, for good
        change = {"account": account, "id": record["status"], "reason": reason, "entry": record[id_field]}
        if live:
            change["words"] = tokens(record.get("text", ""))
        change["live"] = live
        ctx.hop(account, "index_interaction", change)


def index_interaction(ctx: BatchContext, change: dict[str, Any]) -> None:
    """Apply a favourite or bookmark, or its undoing, to the account's reasons and words (idempotent)."""
    entries = ctx.pstate("$$interaction_words")
    account, status_id = change["account"], change["id"]
    entry = entries.get(account, status_id) or {"reasons": {}, "words": []}
    seen = entry["reasons"].get(change["reason"])
    if seen is not None and rank(*seen) >= rank(change["entry"], change["live"]):
        return  # a repeat, or older than what this reason already knows
    reasons = {**entry["reasons"], change["reason"]: [change["entry"], change["live"]]}
    words = sorted(set(entry["words"]) | set(change.get("words", ())))
    if not any(live for _, live in reasons.values()):
        unindex(ctx, account, status_id, words)
        words = []
    else:
        index = ctx.pstate("$$status_words")
        for word in words:
            index.put(account, (word, status_id), True)
    entries.put(account, status_id, {"reasons": reasons, "words": words})


def rank(entry: int, live: bool) -> tuple[int, bool]:
    """Order the events of one reason: by entry id, and an entry's undoing after it."""
    return (entry, not live)


def unindex(ctx: BatchContext, account: int, status_id: int, words: list[str]) -> None:
    """Make status `status_id` unfindable by `account` under `words`."""
    index = ctx.pstate("$$status_words")
    for word in words:
        index.remove(account, (word, status_id))
