"""Driving the authorization page as a browser would: read the form, fill it in, follow the answer."""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from api.pkce import challenge_of
from tests.api.support import app_token, make_app, signup

CALLBACK = "https://client.example/cb?from=tusk"
OOB = "urn:ietf:wg:oauth:2.0:oob"


class FormFields(HTMLParser):
    """Collects the name -> value of a page's hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def hidden_fields(page: str) -> dict[str, str]:
    """Return the hidden inputs of an HTML page."""
    parser = FormFields()
    parser.feed(page)
    return parser.fields


def shown_code(page: str) -> str:
    """Return the code an out-of-band page shows."""
    found = re.search(r"<code>([^<]+)</code>", page)
    assert found, page
    return found.group(1)


def redirect_query(response: ClientResponse) -> dict[str, str]:
    """Return the query parameters of a redirect's Location (one value each)."""
    assert response.status == 302, response.status
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def pkce_pair() -> tuple[str, str]:
    """Return a fresh (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, challenge_of(verifier)


async def client_app(client: TestClient[Any, Any], scopes: str = "read write follow profile", name: str = "app") -> Any:
    """Register an app with the callback and out-of-band redirect URIs."""
    body = {"client_name": name, "redirect_uris": [CALLBACK, OOB], "scopes": scopes}
    response = await client.post("/api/v1/apps", json=body)
    assert response.status == 200, await response.text()
    return await response.json()


async def user(client: TestClient[Any, Any], name: str) -> None:
    """Register `name` (password NAME-pass, email NAME@example.org) through a registration app of its own."""
    await signup(client, await app_token(client, await make_app(client)), name)


async def open_form(client: TestClient[Any, Any], query: dict[str, str]) -> dict[str, str]:
    """GET the authorization page and return its form's hidden fields."""
    page = await client.get("/oauth/authorize", params=query)
    assert page.status == 200, await page.text()
    return hidden_fields(await page.text())


async def submit(
    client: TestClient[Any, Any], fields: dict[str, str], login: str, password: str, decision: str = "approve"
) -> ClientResponse:
    """POST the form back, filled in, without following the redirect."""
    form = {**fields, "login": login, "password": password, "decision": decision}
    return await client.post("/oauth/authorize", data=form, allow_redirects=False)


def authorize_query(
    app: dict[str, Any], challenge: str | None, scope: str = "read write", **extra: str
) -> dict[str, str]:
    """The query of an authorization request to the callback."""
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK, "scope": scope}
    if challenge:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return {**query, "state": "st<ate>", **extra}


async def code_for(client: TestClient[Any, Any], app: dict[str, Any], name: str, challenge: str | None) -> str:
    """Run the page as `name` and return the code the redirect carries."""
    fields = await open_form(client, authorize_query(app, challenge))
    return redirect_query(await submit(client, fields, name, f"{name}-pass"))["code"]


def exchange(app: dict[str, Any], code: str, verifier: str | None, redirect_uri: str = CALLBACK) -> dict[str, str]:
    """The token request exchanging `code`."""
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    body |= {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    return body | ({"code_verifier": verifier} if verifier else {})
