"""Accounts: register, verify_credentials, show, lookup, statuses (relationships live in `relationships`)."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from api import render
from api.config import CLIENT, CONFIG, ApiConfig, Route
from api.errors import forbidden, not_found, unprocessable
from api.lookups import account_or_404, existing, path_id
from api.oauth import AUTH, issue_token, require, require_user
from api.pagination import page_params, paged
from api.params import read_params
from api.responses import json_response
from api.scopes import optional
from cluster.client import ClusterClient
from modules.auth.passwords import hash_password

CORE = "core"


def routes() -> list[Route]:
    """The routes of this resource."""
    return [
        ("POST", "/api/v1/accounts", create),
        ("GET", "/api/v1/accounts/verify_credentials", verify_credentials),
        ("GET", "/api/v1/accounts/lookup", lookup),
        ("GET", "/api/v1/accounts/{id}", show),
        ("GET", "/api/v1/accounts/{id}/statuses", statuses),
    ]


async def register(client: ClusterClient, config: ApiConfig, username: str, email: str, password: str) -> int:
    """Create an account with its credentials; return its id (422 if the username or email is taken)."""
    if await client.query(AUTH, "account_by_email", email.lower()) is not None:
        raise unprocessable("Email has already been taken")
    record = {"op": "register", "uuid": f"register-{uuid.uuid4()}", "username": username}
    account_id = int((await client.append(CORE, "*accounts", record)).value)
    stored = await asyncio.to_thread(hash_password, password, config.password_cost)
    await client.append(AUTH, "*credentials", {"account": account_id, "email": email, "password": stored})
    return account_id


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/accounts: register (with an app token) and return a user token."""
    caller = await require(request, "write:accounts")
    config = request.app[CONFIG]
    if not config.registrations_open:
        raise forbidden("Registrations are closed")
    params = await read_params(request)
    username, email = params.required("username", most=30), params.required("email", most=320)
    password = params.required("password", most=72)
    if not params.boolean("agreement"):
        raise unprocessable("Agreement must be accepted")
    if len(password) < 8:
        raise unprocessable("Password is too short (minimum is 8 characters)")
    if "@" not in email:
        raise unprocessable("Email is invalid")
    account_id = await register(request.app[CLIENT], config, username, email, password)
    return json_response(await issue_token(request, caller.client_id, account_id, sorted(caller.scopes)))


async def verify_credentials(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/verify_credentials: the caller's CredentialAccount."""
    account_id = await require_user(request, "profile", "read:accounts")
    return json_response(await account_or_404(request, account_id, credential=True))


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id."""
    await optional(request, "read:accounts")
    return json_response(await account_or_404(request, path_id(request)))


async def lookup(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/lookup?acct=: a local account by username (`user` or `user@our.domain`)."""
    await optional(request, "read:accounts")
    acct = (await read_params(request)).required("acct", most=320).lstrip("@")
    username, _, domain = acct.partition("@")
    if domain and domain != request.app[CONFIG].domain:
        raise not_found()
    account_id = await request.app[CLIENT].query(CORE, "account_by_username", username) if username else None
    if account_id is None:
        raise not_found()
    return json_response(await account_or_404(request, account_id))


async def statuses(request: web.Request) -> web.Response:
    """GET /api/v1/accounts/:id/statuses: the account's public-facing statuses, newest first."""
    await optional(request, "read:statuses")
    author = await existing(request)
    page = page_params(await read_params(request))
    ids = await request.app[CLIENT].query(CORE, "author_statuses", author, page.max_id, page.limit)
    return await paged(request, await render.statuses(request, None, page.filter(ids)))
