"""Record shapes of the auth depots and their validation.

    *apps         {"client_id", "secret_hash", "name", "redirect_uris": [str], "scopes": [str],
                   "website": str | None}                                        partitioned by client_id
    *tokens       {"op": "issue", "token_hash", "client_id", "account": id | None, "scopes": [str]}
                  {"op": "revoke", "token_hash"}                                 partitioned by token_hash
    *credentials  {"account": id, "email": str, "password": {"salt", "hash", "n", "r", "p"}}
                                                                                 partitioned by account
    *codes        {"op": "grant", "code_hash", "client_id", "account": id, "redirect_uri": str,
                   "scopes": [str], "code_challenge": str | None}
                  {"op": "redeem", "code_hash", "client_id", "token_hash"}      partitioned by code_hash

Secrets never reach a depot: tokens, authorization codes and client secrets arrive as SHA-256 hex digests,
passwords as scrypt hashes (`passwords.py`) computed by the caller with a random per-user salt.
"""

from __future__ import annotations

import re
from typing import Any

from topology.context import RecordRejected

Record = dict[str, Any]

HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest, unpadded
MAX_NAME_CHARS = 255
MAX_EMAIL_CHARS = 320
MAX_LIST = 64


def field_of(name: str) -> Any:
    """Return a partitioning function reading `name` from a record."""
    return lambda record: _fields(record).get(name)


def check_digest(value: object, what: str) -> str:
    """Return a lower-case SHA-256 hex digest, rejecting anything else."""
    if not isinstance(value, str) or not HEX_DIGEST.fullmatch(value):
        raise RecordRejected(f"{what} must be a SHA-256 hex digest")
    return value


def check_strings(value: object, what: str, most_chars: int = MAX_NAME_CHARS) -> list[str]:
    """Return a list of short strings, rejecting anything else."""
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise RecordRejected(f"{what} must be a list of at most {MAX_LIST} strings")
    for item in value:
        if not isinstance(item, str) or len(item) > most_chars:
            raise RecordRejected(f"{what} must hold strings of at most {most_chars} characters")
    return list(value)


def check_app(record: Record) -> Record:
    """Return an app record's fields, validated."""
    client_id = record.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 128:
        raise RecordRejected("client_id must be a non-empty string")
    name = record.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise RecordRejected(f"name must be a non-empty string of at most {MAX_NAME_CHARS} characters")
    website = record.get("website")
    if website is not None and (not isinstance(website, str) or len(website) > 2_000):
        raise RecordRejected("website must be a string or None")
    return {
        "client_id": client_id,
        "secret_hash": check_digest(record.get("secret_hash"), "secret_hash"),
        "name": name,
        "redirect_uris": check_strings(record.get("redirect_uris"), "redirect_uris", 2_000),
        "scopes": check_strings(record.get("scopes"), "scopes"),
        "website": website,
    }


def check_token(record: Record) -> Record:
    """Return an issue record's fields, validated."""
    account = record.get("account")
    if account is not None and (type(account) is not int or account <= 0):
        raise RecordRejected(f"account must be an id or None, got {account!r}")
    client_id = record.get("client_id")
    if not isinstance(client_id, str):
        raise RecordRejected("client_id must be a string")
    return {
        "token_hash": check_digest(record.get("token_hash"), "token_hash"),
        "client_id": client_id,
        "account": account,
        "scopes": check_strings(record.get("scopes"), "scopes"),
    }


def check_grant(record: Record) -> Record:
    """Return an authorization code grant's fields, validated."""
    account = record.get("account")
    if type(account) is not int or account <= 0:
        raise RecordRejected(f"account must be an id, got {account!r}")
    redirect_uri = record.get("redirect_uri")
    if not isinstance(redirect_uri, str) or not 0 < len(redirect_uri) <= 2_000:
        raise RecordRejected("redirect_uri must be a non-empty string")
    challenge = record.get("code_challenge")
    if challenge is not None and (not isinstance(challenge, str) or not S256_CHALLENGE.fullmatch(challenge)):
        raise RecordRejected("code_challenge must be an S256 challenge (43 base64url characters) or None")
    return {
        "code_hash": check_digest(record.get("code_hash"), "code_hash"),
        "client_id": _client_id(record),
        "account": account,
        "redirect_uri": redirect_uri,
        "scopes": check_strings(record.get("scopes"), "scopes"),
        "code_challenge": challenge,
    }


def check_redeem(record: Record) -> Record:
    """Return a code redemption's fields, validated."""
    return {
        "code_hash": check_digest(record.get("code_hash"), "code_hash"),
        "client_id": _client_id(record),
        "token_hash": check_digest(record.get("token_hash"), "token_hash"),
    }


def check_credentials(record: Record) -> Record:
    """Return a credentials record's fields, validated."""
    account = record.get("account")
    if type(account) is not int or account <= 0:
        raise RecordRejected(f"account must be an id, got {account!r}")
    email = record.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > MAX_EMAIL_CHARS:
        raise RecordRejected("email must be an address")
    password = record.get("password")
    if not isinstance(password, dict) or set(password) != {"salt", "hash", "n", "r", "p"}:
        raise RecordRejected("password must be a scrypt hash {salt, hash, n, r, p}")
    return {"account": account, "email": email.lower(), "password": password}


def _client_id(record: Record) -> str:
    client_id = record.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 128:
        raise RecordRejected("client_id must be a non-empty string")
    return client_id


def _fields(record: object) -> Record:
    if not isinstance(record, dict):
        raise TypeError(f"auth records are dicts, got {type(record).__name__}")
    return record
