"""The `search` microbatch: accounts, hashtags, per-account status words and the profile directory.

    sources  core's *accounts (register / update), core's *statuses_with_id (*interactions: interactions.py)
    steps    index_profile  on the account's task: merge the profile, re-index its names, the directory
             index_name     on the task owning a `$$names` key: add or remove it
             index_words    on the task owning an account: the words of a status it may search
             index_tag      on the task owning a hashtag

Registrations carry no id (core issues it): the id is read from core's `$$account_by_username`, checked
against the request uuid (a refused duplicate username is skipped). If core has not processed a valid
registration yet, the batch raises `CoreBehind` and the engine retries it a moment later.

A profile is merged, not replaced: an update's fields win over the registration's whatever order the two
records (on different partitions) arrive in, and `last_status_at` only moves forward, so the indexes
depend only on which records were seen (a profile is stored with its fields in name order, so even its bytes
do). Deleted statuses stay in the word index; queries drop them when they hydrate through core (like
Mastodon's search, which re-checks the database).
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key, time_of
from modules.core.records import Limits, check_profile, check_registration
from modules.search.tokens import name_key, tokens
from topology.context import Batch, BatchContext, RecordRejected


class CoreBehind(RuntimeError):
    """Core has not yet stored an account this batch needs; the batch is retried."""


def on_accounts(ctx: BatchContext, batch: Batch) -> None:
    """Index registrations (once core gave them an id) and profile updates."""
    for record in batch.values:
        op = record.get("op")
        if op == "register":
            account = registered_id(ctx, record)
            if account is not None:
                fields = {"username": record["username"], "display_name": record.get("display_name", "")}
                ctx.hop(account, "index_profile", {"account": account, "base": fields})
        elif op == "update" and isinstance(record.get("account"), int):
            fields = {k: record[k] for k in ("display_name",) if isinstance(record.get(k), str)}
            if fields:
                ctx.hop(record["account"], "index_profile", {"account": record["account"], "changes": fields})


def registered_id(ctx: BatchContext, record: dict[str, Any]) -> int | None:
    """Return the id core gave this registration, None if core refused it; raise `CoreBehind` if not yet known."""
    try:
        uuid, username = check_registration(record, Limits())
        check_profile(record, Limits())
    except RecordRejected:
        return None
    found = ctx.pstate("$$account_by_username", module="core").get(username.lower())
    if found is None:
        raise CoreBehind(f"core has not registered {username!r} yet")
    return int(found["id"]) if found["uuid"] == uuid else None


def on_statuses(ctx: BatchContext, batch: Batch) -> None:
    """Index each new status' words for its author and mentioned accounts, its hashtags, the author's activity."""
    for record in batch.values:
        if record.get("op") != "create" or record["status"].get("reblog_of") is not None:
            continue  # deletes are dropped at read time; boosts have no words of their own
        status = record["status"]
        words = tokens(record.get("text", ""))
        for account in {status["author"], *status.get("mentions", [])}:
            ctx.hop(account, "index_words", {"account": account, "id": status["id"], "words": words})
        ctx.hop(status["author"], "index_profile", {"account": status["author"], "status_at": time_of(status["id"])})
        if status.get("visibility") in ("public", "unlisted"):
            for tag in status.get("tags", []):
                ctx.hop(tag, "index_tag", {"tag": tag, "at": time_of(status["id"])})


def index_profile(ctx: BatchContext, change: dict[str, Any]) -> None:
    """Merge a registration, an update or a new status into the account's profile; re-index what changed."""
    account = change["account"]
    profiles = ctx.pstate("$$profiles")
    old: dict[str, Any] = profiles.get(account) or {}
    new = {**change.get("base", {}), **old, **change.get("changes", {})}
    if "base" in change:
        new["created_at"] = time_of(account)
    if "status_at" in change and change["status_at"] > (old.get("last_status_at") or 0):
        new["last_status_at"] = change["status_at"]
    if new == old:
        return
    # Stored with its fields in name order: the bytes (what a replay is compared on) must not depend on
    # whether the registration or the first status of the account arrived first.
    profiles.put(account, dict(sorted(new.items())))
    reindex_names(ctx, account, old, new)
    reindex_directory(ctx, account, old, new)


def name_keys(account: int, profile: dict[str, Any]) -> dict[str, str]:
    """Return the `$$names` keys of a profile, each with the field it comes from."""
    keys: dict[str, str] = {}
    for token in tokens(profile.get("display_name", "")):
        keys[name_key(token, account)] = "display_name"
    if "username" in profile:
        keys[name_key(profile["username"].casefold(), account)] = "username"
    return keys


def reindex_names(ctx: BatchContext, account: int, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Remove the names a profile lost and add the ones it gained (each on its key's task)."""
    before, after = name_keys(account, old), name_keys(account, new)
    for key in before.keys() - after.keys():
        ctx.hop(key, "index_name", {"key": key, "field": None})
    for key, field in after.items():
        if before.get(key) != field:
            ctx.hop(key, "index_name", {"key": key, "field": field})


def reindex_directory(ctx: BatchContext, account: int, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Keep a registered account in this task's `new` and `active` directory orders (on the account's task)."""
    entry = {"local": not new.get("domain")}
    directory_key = task_key("directory", ctx.task, ctx.tasks, ctx.task_of)
    if "created_at" in new and "created_at" not in old:
        ctx.pstate("$$directory_new").put(directory_key, account, entry)
    before, after = active_key(account, old), active_key(account, new)
    if before != after:
        active = ctx.pstate("$$directory_active")
        if before is not None:
            active.remove(directory_key, before)
        if after is not None:
            active.put(directory_key, after, entry)


def active_key(account: int, profile: dict[str, Any]) -> tuple[int, int] | None:
    """Return the `active` order's item key (last status time, account), or None if not listed there."""
    if "created_at" not in profile or not profile.get("last_status_at"):
        return None
    return (int(profile["last_status_at"]), account)


def index_name(ctx: BatchContext, change: dict[str, Any]) -> None:
    """Add (`field` set) or remove (`field` None) one `$$names` key."""
    names = ctx.pstate("$$names")
    if change["field"] is None:
        names.delete(change["key"])
    else:
        names.put(change["key"], change["field"])


def index_words(ctx: BatchContext, entry: dict[str, Any]) -> None:
    """Make status `id` findable by `account` under each of its words."""
    words = ctx.pstate("$$status_words")
    for word in entry["words"]:
        words.put(entry["account"], (word, entry["id"]), True)


def index_tag(ctx: BatchContext, use: dict[str, Any]) -> None:
    """Remember a hashtag and its last use (on the tag's task)."""
    tags = ctx.pstate("$$tags")
    last = tags.get(use["tag"])
    if last is None or use["at"] > last:
        tags.put(use["tag"], use["at"])
