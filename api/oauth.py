"""OAuth 2 endpoints: `POST /oauth/token` (authorization_code, password, client_credentials), `POST /oauth/revoke`,
`GET /oauth/userinfo`. The consent page, `/oauth/authorize`, is `api/authorize.py`; scopes are `api/scopes.py`.

Tokens, codes and client secrets are random URL-safe strings handed out once; the auth module keeps only
their SHA-256 digests, so a leaked database holds no usable credential. Clients authenticate with
`client_id` + `client_secret` in the body or with HTTP Basic. Errors take OAuth's shape
(`{"error": "invalid_grant", "error_description": ...}`), as Mastodon's token endpoint answers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import secrets
import time
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from api import render
from api.config import CLIENT, CONFIG, Route
from api.errors import ApiError, not_found
from api.params import Params, read_params
from api.pkce import verifier_matches
from api.responses import json_response
from api.scopes import (
    AUTH,
    Principal,
    digest,
    parse_scopes,
    principal,
    require,
    require_user,
    within,
)
from cluster.client import ClusterClient
from modules.auth.passwords import verify_password

__all__ = ["AUTH", "Principal", "digest", "issue_token", "new_secret", "parse_scopes", "principal", "require"]
__all__ += ["require_user", "routes"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INVALID_GRANT = "The authorization grant is invalid, expired, already used, or bound to another client or URI."


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("POST", "/oauth/token", token),
        ("POST", "/oauth/revoke", revoke),
        ("GET", "/oauth/userinfo", userinfo),
        ("POST", "/oauth/userinfo", userinfo),
    ]


def new_secret() -> str:
    """Return a fresh random token, code or secret."""
    return secrets.token_urlsafe(32)


async def issue_token(
    request: web.Request, client_id: str, account: int | None, scopes: list[str], token: str | None = None
) -> dict[str, object]:
    """Issue `token` (a fresh one by default) and return Mastodon's Token entity for it."""
    token = token or new_secret()
    record = {"op": "issue", "token_hash": digest(token), "client_id": client_id, "account": account, "scopes": scopes}
    await request.app[CLIENT].append(AUTH, "*tokens", record)
    return {"access_token": token, "token_type": "Bearer", "scope": " ".join(scopes), "created_at": int(time.time())}


async def token(request: web.Request) -> web.Response:
    """POST /oauth/token: exchange a grant (authorization_code, password, client_credentials) for a token."""
    params = await read_params(request)
    grant = params.required("grant_type", most=64)
    app = await authenticate_client(request, params)
    if grant == "authorization_code":
        issued = await _exchange_code(request, params, app)
    elif grant in ("password", "client_credentials"):
        scopes = parse_scopes(params.string("scope", most=1_000))
        if not within(scopes, app["scopes"]):
            raise oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        account = await _password_account(request, params) if grant == "password" else None
        issued = await issue_token(request, app["client_id"], account, scopes)
    else:
        raise oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
    return json_response(issued, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    """POST /oauth/revoke: revoke the client's own token (RFC 7009: an unknown token is not an error)."""
    params = await read_params(request)
    app = await authenticate_client(request, params)
    token_hash = digest(params.required("token", most=256))
    client = request.app[CLIENT]
    found = await client.query(AUTH, "token", token_hash)
    if found is not None:
        if found["client_id"] != app["client_id"]:
            raise oauth_error(403, "unauthorized_client", "You are not authorized to revoke this token.")
        await client.append(AUTH, "*tokens", {"op": "revoke", "token_hash": token_hash})
    return json_response({})


async def userinfo(request: web.Request) -> web.Response:
    """GET /oauth/userinfo: OpenID Connect claims about the token's user (scope `profile`)."""
    account_id = await require_user(request, "profile")
    account = await render.account(request, account_id)
    if account is None:
        raise not_found()
    claims = {
        "iss": request.app[CONFIG].base_url + "/",
        "sub": account["uri"],
        "name": account["display_name"] or account["username"],
        "preferred_username": account["username"],
        "profile": account["url"],
        "picture": account["avatar"],
    }
    return json_response(claims)


async def authenticate_client(request: web.Request, params: Params) -> dict[str, Any]:
    """Return the app whose client_id and secret the request presents (body or HTTP Basic); 401 otherwise."""
    client_id, secret = _basic_credentials(request) or (
        params.string("client_id", most=128),
        params.string("client_secret", most=256),
    )
    if not client_id or not secret:
        raise oauth_error(401, "invalid_client", "Client authentication failed: client_id and client_secret needed.")
    app: dict[str, Any] | None = await request.app[CLIENT].query(AUTH, "app", client_id)
    if app is None or not hmac.compare_digest(str(app["secret_hash"]), digest(secret)):
        raise oauth_error(401, "invalid_client", "Client authentication failed due to unknown client.")
    return app


async def authenticate_user(client: ClusterClient, login: str, password: str) -> int | None:
    """Return the account whose username or email is `login` and whose password is `password`, else None."""
    if "@" in login:
        account = await client.query(AUTH, "account_by_email", login.lower())
    else:
        account = await client.query("core", "account_by_username", login)
    stored = None if account is None else await client.query(AUTH, "credentials", account)
    if stored is None or not await asyncio.to_thread(verify_password, password, stored["password"]):
        return None
    return int(account)


def oauth_error(status: int, error: str, description: str) -> ApiError:
    """An error in OAuth's shape: `{"error": code, "error_description": text}`."""
    return ApiError(status, error, description)


async def _exchange_code(request: web.Request, params: Params, app: dict[str, Any]) -> dict[str, object]:
    """Check the code against its bindings, redeem it once, and issue its token."""
    code = params.required("code", most=256)
    redirect_uri = params.required("redirect_uri", most=2_000)
    verifier = params.string("code_verifier", most=128) or None
    client = request.app[CLIENT]
    code_hash = digest(code)
    found = await client.query(AUTH, "code", code_hash)
    if found is None or found["client_id"] != app["client_id"] or found["redirect_uri"] != redirect_uri:
        raise oauth_error(400, "invalid_grant", INVALID_GRANT)
    challenge = found["code_challenge"]
    if (challenge is None) != (verifier is None) or (verifier and not verifier_matches(verifier, challenge)):
        raise oauth_error(400, "invalid_grant", "The PKCE code_verifier does not match the code_challenge.")
    token = new_secret()
    redemption = {"op": "redeem", "code_hash": code_hash, "client_id": app["client_id"], "token_hash": digest(token)}
    outcome = (await client.append(AUTH, "*codes", redemption)).value
    if "error" in outcome:
        if outcome["error"] == "used":  # a replayed code: revoke what it was exchanged for (RFC 6749 4.1.2)
            await client.append(AUTH, "*tokens", {"op": "revoke", "token_hash": outcome["token_hash"]})
        raise oauth_error(400, "invalid_grant", INVALID_GRANT)
    grant = outcome["grant"]
    return await issue_token(request, app["client_id"], grant["account"], grant["scopes"], token)


async def _password_account(request: web.Request, params: Params) -> int:
    login, password = params.required("username", most=320), params.required("password", most=1_000)
    account = await authenticate_user(request.app[CLIENT], login, password)
    if account is None:
        raise oauth_error(400, "invalid_grant", "The provided authorization grant is invalid.")
    return account


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """Return (client_id, client_secret) from `Authorization: Basic` (RFC 6749 2.3.1: form-encoded parts)."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise oauth_error(401, "invalid_client", "Malformed HTTP Basic client credentials.") from None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
