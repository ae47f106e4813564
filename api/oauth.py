"""OAuth 2: scopes, bearer-token authentication, and `POST /oauth/token` (password, client_credentials).

Tokens and client secrets are random URL-safe strings handed out once; the auth module keeps only their
SHA-256 digests, so a leaked database holds no usable credential. A token's scopes may be top-level
(`read`, `write`, `follow`, `push`, `profile`) or granular (`read:statuses`); a top-level scope grants
every granular one under it, and the legacy `follow` grants the follow / block / mute ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.config import CLIENT
from api.errors import ApiError, forbidden, unauthorized
from api.params import Params, read_params
from api.responses import json_response
from modules.auth.passwords import verify_password

AUTH = "auth"
TOP_LEVEL = frozenset({"read", "write", "follow", "push", "profile"})
READ_SCOPES = "accounts blocks bookmarks favourites filters follows lists mutes notifications search statuses"
WRITE_SCOPES = "accounts blocks bookmarks conversations favourites filters follows lists media mutes notifications"
GRANULAR = frozenset(
    [f"read:{name}" for name in READ_SCOPES.split()]
    + [f"write:{name}" for name in (WRITE_SCOPES + " reports statuses").split()]
)
FOLLOW_GRANTS = frozenset({f"{mode}:{name}" for mode in ("read", "write") for name in ("blocks", "follows", "mutes")})
SCOPES = TOP_LEVEL | GRANULAR
DEFAULT_SCOPES = ("read",)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the token's account (None for an app-only token) and its scopes."""

    account: int | None
    scopes: frozenset[str]
    client_id: str

    def allows(self, scope: str) -> bool:
        """Whether the token grants `scope` (directly, by its top-level scope, or by legacy `follow`)."""
        top = scope.split(":", 1)[0]
        return scope in self.scopes or top in self.scopes or ("follow" in self.scopes and scope in FOLLOW_GRANTS)


def digest(secret: str) -> str:
    """Return the SHA-256 hex digest a token or client secret is stored as."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """Return a fresh random token or secret."""
    return secrets.token_urlsafe(32)


def parse_scopes(text: str | None) -> list[str]:
    """Return the scopes of a space-separated `scope` parameter, rejecting unknown ones (422)."""
    scopes = (text or "").split() or list(DEFAULT_SCOPES)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ApiError(422, f"Validation failed: unknown scope {unknown[0]!r}")
    return list(dict.fromkeys(scopes))


async def principal(request: web.Request) -> Principal | None:
    """Return who the bearer token of `request` belongs to, None without one; 401 for an invalid one."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.query.get("access_token")
    if not token:
        return None
    found = await request.app[CLIENT].query(AUTH, "token", digest(token))
    if found is None:
        raise unauthorized()
    return Principal(found["account"], frozenset(found["scopes"]), found["client_id"])


async def require(request: web.Request, scope: str) -> Principal:
    """Return the caller, who must hold a token with `scope` (401 without a token, 403 without the scope)."""
    caller = await principal(request)
    if caller is None:
        raise unauthorized("The access token is invalid")
    if not caller.allows(scope):
        raise forbidden()
    return caller


async def require_user(request: web.Request, scope: str) -> int:
    """Return the caller's account id: `require`, and the token must belong to a user (422 otherwise)."""
    caller = await require(request, scope)
    if caller.account is None:
        raise ApiError(422, "This method requires an authenticated user")
    return caller.account


async def issue_token(
    request: web.Request, client_id: str, account: int | None, scopes: list[str]
) -> dict[str, object]:
    """Issue a token and return Mastodon's Token entity for it."""
    token = new_secret()
    record = {"op": "issue", "token_hash": digest(token), "client_id": client_id, "account": account, "scopes": scopes}
    await request.app[CLIENT].append(AUTH, "*tokens", record)
    return {"access_token": token, "token_type": "Bearer", "scope": " ".join(scopes), "created_at": int(time.time())}


async def token(request: web.Request) -> web.Response:
    """POST /oauth/token: grant a token for `password` or `client_credentials`."""
    params = await read_params(request)
    grant = params.required("grant_type", most=64)
    app = await _client(request, params)
    scopes = parse_scopes(params.string("scope", most=1_000))
    if not set(scopes) <= set(app["scopes"]) and not all(_within(s, app["scopes"]) for s in scopes):
        raise _oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    if grant == "client_credentials":
        return json_response(await issue_token(request, app["client_id"], None, scopes))
    if grant == "password":
        account = await _password_account(request, params)
        return json_response(await issue_token(request, app["client_id"], account, scopes))
    raise _oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")


async def _client(request: web.Request, params: Params) -> dict[str, Any]:
    client_id = params.required("client_id", most=128)
    secret = params.required("client_secret", most=256)
    app: dict[str, Any] | None = await request.app[CLIENT].query(AUTH, "app", client_id)
    if app is None or not hmac.compare_digest(str(app["secret_hash"]), digest(secret)):
        raise _oauth_error(401, "invalid_client", "Client authentication failed due to unknown client.")
    return app


async def _password_account(request: web.Request, params: Params) -> int:
    login, password = params.required("username", most=320), params.required("password", most=1_000)
    client = request.app[CLIENT]
    if "@" in login:
        account = await client.query(AUTH, "account_by_email", login.lower())
    else:
        account = await client.query("core", "account_by_username", login)
    stored = None if account is None else await client.query(AUTH, "credentials", account)
    if stored is None or not await asyncio.to_thread(verify_password, password, stored["password"]):
        raise _oauth_error(400, "invalid_grant", "The provided authorization grant is invalid.")
    return int(account)


def _within(scope: str, granted: object) -> bool:
    return isinstance(granted, list) and Principal(None, frozenset(granted), "").allows(scope)


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, error, description)
