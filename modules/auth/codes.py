"""Authorization codes: granted on the consent page, redeemed once at the token endpoint, within ten minutes.

A code is kept as its SHA-256 digest with what it is bound to (client, redirect_uri, scopes, account, the
PKCE challenge). Redemption happens here, in order on the code's task, so of two racing redemptions exactly
one wins; the winner's token digest is remembered, so a retried redemption (at-least-once) wins again while
a replayed code learns which token to revoke (RFC 6749 4.1.2). Expiry is judged on the records' append
times (`ctx.time_ms`), never the wall clock, so a replay decides the same.
"""

from __future__ import annotations

from typing import Any

from modules.auth.records import Record, check_grant, check_redeem
from topology.context import ReadContext, RecordRejected, StreamContext

CODE_TTL_MS = 10 * 60 * 1000


def on_codes(ctx: StreamContext, record: Record) -> dict[str, Any] | None:
    """Store a granted code, or redeem one and return the outcome (see `redeem`)."""
    op = record.get("op")
    if op == "grant":
        fields = check_grant(record)
        codes = ctx.pstate("$$codes")
        if not codes.contains(fields["code_hash"]):
            codes.put(fields["code_hash"], {**fields, "created_at": ctx.time_ms, "redeemed_by": None})
        return None
    if op == "redeem":
        return redeem(ctx, check_redeem(record))
    raise RecordRejected(f"unknown op {op!r}: expected 'grant' or 'redeem'")


def redeem(ctx: StreamContext, fields: Record) -> dict[str, Any]:
    """Return {"grant": {"account", "scopes"}} if this redemption wins, else {"error": why} (and the prior token)."""
    codes = ctx.pstate("$$codes")
    code: dict[str, Any] | None = codes.get(fields["code_hash"])
    if code is None or code["client_id"] != fields["client_id"]:
        return {"error": "unknown"}
    if code["redeemed_by"] not in (None, fields["token_hash"]):
        return {"error": "used", "token_hash": code["redeemed_by"]}
    if ctx.time_ms - code["created_at"] > CODE_TTL_MS:
        return {"error": "expired"}
    if code["redeemed_by"] is None:
        codes.put(fields["code_hash"], {**code, "redeemed_by": fields["token_hash"]})
    return {"grant": {"account": code["account"], "scopes": code["scopes"]}}


def code(ctx: ReadContext, code_hash: str) -> dict[str, Any] | None:
    """Return the code with SHA-256 hex `code_hash` and what it is bound to, or None."""
    found: dict[str, Any] | None = ctx.pstate("$$codes").get(code_hash)
    return found
