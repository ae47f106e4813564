"""The `accounts` stream topology: registration (idempotent by request uuid, unique username) and edits.

A registration starts on the task owning its lower-cased username, where `$$account_by_username` decides
uniqueness; the account itself is stored on the task owning its new id (a hop), where edits start.

    $$account_by_username  username (lower case) -> {"id", "uuid"}      on the username's task
    $$account_by_uuid      uuid -> id                                    on the username's task (see below)
    $$accounts             id -> {"id", "username", "display_name", "note", "locked", "bot", "fields",
                                  "created_at", once set: "privacy", "sensitive", "language",
                                  "discoverable", "avatar", "avatar_static", "header", "header_static"}
                                                                         on the id's task
    $$id_clock             ("accounts", salt) -> last id issued          one key per task (`ids.task_key`)

`$$account_by_uuid` is consulted only where the registration runs, so it is keyed on the username's task,
not the uuid's: a client reading it by uuid from outside would be routed elsewhere. The same uuid with
another username is refused (a retried registration always carries the same record).
"""

from __future__ import annotations

from typing import Any

from modules.core.ids import issue_id
from modules.core.records import Limits, Record, check_id, check_profile, check_registration
from topology.context import RecordRejected, StreamContext, TopologyContext

DEFAULT_PROFILE: Record = {"display_name": "", "note": "", "locked": False, "bot": False, "fields": []}


def on_accounts(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Apply a register or update record; return the account id."""
    op = record.get("op")
    if op == "register":
        return register(ctx, record, limits)
    if op == "update":
        return update(ctx, record, limits)
    raise RecordRejected(f"unknown op {op!r}: expected 'register' or 'update'")


def register(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Create the account, or return the id a retry of the same request created."""
    uuid, username = check_registration(record, limits)
    profile = {**DEFAULT_PROFILE, **check_profile(record, limits)}
    by_uuid = ctx.pstate("$$account_by_uuid")
    existing = by_uuid.get(uuid)
    if existing is not None:
        return int(existing)
    by_username = ctx.pstate("$$account_by_username")
    if by_username.contains(username.lower()):
        raise RecordRejected("username taken", "duplicate")
    account_id = issue_id(ctx, "accounts", "$$id_clock")
    by_uuid.put(uuid, account_id)
    by_username.put(username.lower(), {"id": account_id, "uuid": uuid})
    account = {"id": account_id, "username": username, **profile, "created_at": ctx.time_ms}
    ctx.hop(account_id, "store_account", account)
    return account_id


def update(ctx: StreamContext, record: Record, limits: Limits) -> int:
    """Change the given profile fields of an existing account (on the account's task)."""
    account_id = check_id(record.get("account"), "account")
    accounts = ctx.pstate("$$accounts")
    account = accounts.get(account_id)
    if account is None:
        raise RecordRejected(f"unknown account {account_id}", "not_found")
    accounts.put(account_id, {**account, **check_profile(record, limits)})
    return account_id


def store_account(ctx: TopologyContext, account: dict[str, Any]) -> None:
    """Store a new account on the task owning its id (idempotent: a retry writes the same value)."""
    accounts = ctx.pstate("$$accounts")
    if not accounts.contains(account["id"]):
        accounts.put(account["id"], account)
