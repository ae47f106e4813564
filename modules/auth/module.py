"""The auth module: OAuth apps, access tokens, authorization codes (all as SHA-256 hashes), credentials.

    depots     *apps         by client_id       (records.py)
               *tokens       by token hash
               *credentials  by account
               *codes        by code hash
    topology   auth (stream)  $$apps          client_id -> app
                              $$tokens        token hash -> {"client_id", "account", "scopes", "created_at"}
                              $$credentials   account -> {"email", "password"}
                              $$account_by_email  email (lower case) -> account   (a hop to the email's task)
                              $$codes         code hash -> grant, "created_at", "redeemed_by" (codes.py)
                              $$stats         per-task counters (stats.py)
    queries    app token credentials account_by_email code (routed by their argument);
               local_users activity (every task, summed)

An app or token is written once: re-issuing the same hash is a no-op (a retried append); revoking removes
the token. The first account to claim an email keeps it. A code is redeemed at most once (codes.py).
"""

from __future__ import annotations

from typing import Any

from depots.declaration import hash_by
from modules.auth import stats
from modules.auth.codes import code, on_codes
from modules.auth.records import Record, check_app, check_credentials, check_digest, check_token, field_of
from pstates.schema import Map
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext
from topology.module import Module, ModuleBuilder, all_tasks, by_key


class Auth(Module):
    """OAuth apps, tokens and password credentials."""

    name = "auth"

    def define(self, m: ModuleBuilder) -> None:
        """Declare the depots, the `auth` stream topology and the queries."""
        m.depot("*apps", hash_by(field_of("client_id")))
        m.depot("*tokens", hash_by(field_of("token_hash")))
        m.depot("*credentials", hash_by(field_of("account")))
        m.depot("*codes", hash_by(field_of("code_hash")))
        topology = m.stream("auth")
        topology.pstate("$$apps", Map(str, dict))
        topology.pstate("$$tokens", Map(str, dict))
        topology.pstate("$$credentials", Map(int, dict))
        topology.pstate("$$account_by_email", Map(str, int))
        topology.pstate("$$codes", Map(str, dict))
        topology.pstate("$$stats", Map(str, int))
        topology.source("*apps", on_apps)
        topology.source("*tokens", on_tokens)
        topology.source("*credentials", on_credentials)
        topology.source("*codes", on_codes)
        topology.step(store_email)
        for fn in (app, token, credentials, account_by_email, code):
            m.query(fn.__name__, fn, route=by_key())
        m.query("local_users", stats.local_users, route=all_tasks(sum))
        m.query("activity", stats.activity, route=all_tasks(stats.merge_activity))


def on_apps(ctx: StreamContext, record: Record) -> str:
    """Store a new app; return its client_id."""
    fields = check_app(record)
    apps = ctx.pstate("$$apps")
    if not apps.contains(fields["client_id"]):
        apps.put(fields["client_id"], {**fields, "created_at": ctx.time_ms})
    return str(fields["client_id"])


def on_tokens(ctx: StreamContext, record: Record) -> None:
    """Issue or revoke a token."""
    op = record.get("op")
    tokens = ctx.pstate("$$tokens")
    if op == "issue":
        fields = check_token(record)
        if not tokens.contains(fields["token_hash"]):
            tokens.put(fields["token_hash"], {**fields, "created_at": ctx.time_ms})
            if fields["account"] is not None:
                stats.count_login(ctx)
    elif op == "revoke":
        tokens.delete(check_digest(record.get("token_hash"), "token_hash"))
    else:
        raise RecordRejected(f"unknown op {op!r}: expected 'issue' or 'revoke'")


def on_credentials(ctx: StreamContext, record: Record) -> None:
    """Set an account's email and password hash, and index the email on its own task."""
    fields = check_credentials(record)
    stored = ctx.pstate("$$credentials")
    if not stored.contains(fields["account"]):
        stats.count_registration(ctx)
    stored.put(fields["account"], {"email": fields["email"], "password": fields["password"]})
    ctx.hop(fields["email"], "store_email", {"email": fields["email"], "account": fields["account"]})


def store_email(ctx: TopologyContext, payload: dict[str, Any]) -> None:
    """Claim an email for an account (first claim wins; a retry writes the same value)."""
    by_email = ctx.pstate("$$account_by_email")
    if not by_email.contains(payload["email"]):
        by_email.put(payload["email"], payload["account"])


def app(ctx: ReadContext, client_id: str) -> dict[str, Any] | None:
    """Return the app `client_id`, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$apps").get(client_id)
    return found


def token(ctx: ReadContext, token_hash: str) -> dict[str, Any] | None:
    """Return the live token with SHA-256 hex `token_hash`, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$tokens").get(token_hash)
    return found


def credentials(ctx: ReadContext, account: int) -> dict[str, Any] | None:
    """Return the account's {"email", "password"}, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$credentials").get(account)
    return found


def account_by_email(ctx: ReadContext, email: str) -> int | None:
    """Return the account that claimed `email` (lower case), or None."""
    found = ctx.pstate("$$account_by_email").get(email)
    return None if found is None else int(found)
