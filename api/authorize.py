"""`GET|POST /oauth/authorize`: the login + consent page that grants authorization codes (with PKCE S256).

A request whose client or redirect_uri is wrong gets an error page (never a redirect to an unregistered
URI); any other problem, and a denial, go back to the client as `error=` on its redirect_uri. Approval
needs the user's username or email and password on the page itself, every time (there is no browser
session, so `force_login` is always in effect). The code is single-use, lives ten minutes and is bound to
the client, redirect_uri, scopes and PKCE challenge (modules/auth/codes.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from api import login_page
from api.apps import OOB
from api.config import CLIENT, CONFIG, Route
from api.errors import ApiError
from api.oauth import authenticate_user, new_secret
from api.params import Params, read_params
from api.pkce import CHALLENGE, METHOD
from api.scopes import AUTH, digest, parse_scopes, within

LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?")
BAD_FORM = "This form has expired or did not come from this server. Start the sign-in from the application again."


def routes() -> list[Route]:
    """The routes of this resource."""
    return [("GET", "/oauth/authorize", show), ("POST", "/oauth/authorize", decide)]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request: the app, where to send the answer, what is asked for."""

    app: dict[str, Any]
    redirect_uri: str
    scopes: list[str]
    state: str
    code_challenge: str | None
    lang: str

    def bound(self) -> list[str]:
        """The parameters a CSRF token binds."""
        return [self.app["client_id"], self.redirect_uri, " ".join(self.scopes), self.state, self.code_challenge or ""]

    def hidden(self, csrf_token: str) -> dict[str, str]:
        """The form's hidden fields: the request itself and the CSRF token."""
        fields = {"response_type": "code", "client_id": self.app["client_id"], "redirect_uri": self.redirect_uri}
        fields |= {"scope": " ".join(self.scopes), "state": self.state, "lang": self.lang}
        if self.code_challenge:
            fields |= {"code_challenge": self.code_challenge, "code_challenge_method": METHOD}
        return {**fields, "csrf_token": csrf_token}


class BadClient(Exception):
    """The client or redirect_uri cannot be trusted: answer with an error page, never a redirect."""


class Refused(Exception):
    """An authorization error to send back to the client's redirect_uri."""

    def __init__(self, redirect_uri: str, state: str, error: str, description: str) -> None:
        super().__init__(description)
        self.answer = {"error": error, "error_description": description}
        self.redirect_uri, self.state = redirect_uri, state


async def show(request: web.Request) -> web.Response:
    """GET /oauth/authorize: the login + consent form for a valid request."""
    params = await read_params(request)
    try:
        auth = await parse_request(request, params)
    except (BadClient, Refused) as failure:
        return _failure(failure)
    nonce = request.cookies.get(login_page.CSRF_COOKIE) or login_page.new_nonce()
    return _form(request, auth, nonce)


async def decide(request: web.Request) -> web.Response:
    """POST /oauth/authorize: approve (with the user's credentials) or deny, then answer the client."""
    params = await read_params(request)
    try:
        auth = await parse_request(request, params)
    except (BadClient, Refused) as failure:
        return _failure(failure)
    nonce = request.cookies.get(login_page.CSRF_COOKIE, "")
    csrf = params.string("csrf_token", most=200) or ""
    if not login_page.token_valid(request.app[CONFIG].form_key, csrf, nonce, auth.bound(), int(time.time())):
        return login_page.html_response(login_page.error_page(BAD_FORM, auth.lang), status=403)
    decision = params.string("decision", most=16)
    if decision == "deny":
        return _answer(
            auth.redirect_uri, auth.state, {"error": "access_denied", "error_description": "Denied."}, auth.lang
        )
    login, password = params.string("login", most=320) or "", params.string("password", most=1_000) or ""
    account = await authenticate_user(request.app[CLIENT], login, password) if login and password else None
    if decision != "approve" or account is None:
        return _form(request, auth, nonce, error="Invalid login or password.", login=login, status=401)
    return _answer(auth.redirect_uri, auth.state, {"code": await _grant(request, auth, account)}, auth.lang)


async def parse_request(request: web.Request, params: Params) -> AuthorizationRequest:
    """Validate an authorization request: BadClient for an unknown client or URI, Refused for the rest."""
    app = await request.app[CLIENT].query(AUTH, "app", params.string("client_id", most=128) or "")
    if app is None:
        raise BadClient("This application is not registered on this server.")
    registered: list[str] = app["redirect_uris"]
    redirect_uri = params.string("redirect_uri", most=2_000) or (registered[0] if len(registered) == 1 else "")
    if redirect_uri not in registered:
        raise BadClient("The redirect_uri is not one this application registered.")
    state = params.string("state", most=2_000) or ""
    lang = params.string("lang", most=16) or "en"
    auth = AuthorizationRequest(app, redirect_uri, [], state, None, lang if LANG.fullmatch(lang) else "en")
    return _checked(auth, params)


def _checked(auth: AuthorizationRequest, params: Params) -> AuthorizationRequest:
    """Check response_type, scopes and PKCE; return the request with its scopes and challenge."""

    def refuse(error: str, description: str) -> Refused:
        return Refused(auth.redirect_uri, auth.state, error, description)

    if params.string("response_type", most=64) != "code":
        raise refuse("unsupported_response_type", "Only response_type=code is supported.")
    try:
        scopes = parse_scopes(params.string("scope", most=1_000))
    except ApiError:
        scopes = []
    if not scopes or not within(scopes, auth.app["scopes"]):
        raise refuse("invalid_scope", "The requested scope is unknown or beyond what the application registered.")
    challenge, method = params.string("code_challenge", most=128), params.string("code_challenge_method", most=16)
    if (challenge or method) and (method != METHOD or not CHALLENGE.fullmatch(challenge or "")):
        raise refuse("invalid_request", "PKCE needs code_challenge_method=S256 and a 43-character code_challenge.")
    return AuthorizationRequest(auth.app, auth.redirect_uri, scopes, auth.state, challenge or None, auth.lang)


async def _grant(request: web.Request, auth: AuthorizationRequest, account: int) -> str:
    """Store a new code for `account` bound to the request; return the code."""
    code = new_secret()
    record = {"op": "grant", "code_hash": digest(code), "client_id": auth.app["client_id"], "account": account}
    record |= {"redirect_uri": auth.redirect_uri, "scopes": auth.scopes, "code_challenge": auth.code_challenge}
    await request.app[CLIENT].append(AUTH, "*codes", record)
    return code


def _form(
    request: web.Request,
    auth: AuthorizationRequest,
    nonce: str,
    *,
    error: str | None = None,
    login: str = "",
    status: int = 200,
) -> web.Response:
    config = request.app[CONFIG]
    csrf = login_page.form_token(config.form_key, nonce, auth.bound(), int(time.time()))
    page = login_page.consent_page(
        app_name=auth.app["name"],
        scopes=auth.scopes,
        hidden=auth.hidden(csrf),
        lang=auth.lang,
        error=error,
        login=login,
    )
    response = login_page.html_response(page, status=status)
    return login_page.set_nonce_cookie(response, nonce, secure=config.base_url.startswith("https:"))


def _answer(redirect_uri: str, state: str, answer: dict[str, str], lang: str) -> web.Response:
    """Send the code or error to the client: a redirect, or a page for the out-of-band URI."""
    if redirect_uri == OOB:
        if "code" in answer:
            return login_page.html_response(login_page.code_page(answer["code"], lang))
        return login_page.html_response(login_page.error_page(answer["error_description"], lang), status=400)
    query = urlencode({**answer, **({"state": state} if state else {})})
    raise web.HTTPFound(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}", headers=login_page.HEADERS)


def _failure(failure: BadClient | Refused) -> web.Response:
    if isinstance(failure, BadClient):
        return login_page.html_response(login_page.error_page(str(failure)), status=400)
    return _answer(failure.redirect_uri, failure.state, failure.answer, "en")
