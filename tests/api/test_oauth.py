"""The token endpoint's bodies and client authentication, revocation, and scopes enforced per route."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from api.scopes import covers
from tests.api.oauth_support import client_app, user
from tests.api.openapi import assert_valid, load_schemas
from tests.api.support import app_token, bearer, served

OUTSIDE = "This action is outside the authorized scopes"


def test_scopes_cover_their_granular_scopes() -> None:
    assert covers({"read"}, "read:statuses") and covers({"admin:read"}, "admin:read:accounts")
    assert covers({"follow"}, "write:blocks") and not covers({"follow"}, "write:statuses")
    assert not covers({"read"}, "write:statuses") and not covers({"read"}, "profile")
    assert not covers({"read:statuses"}, "read") and not covers({"admin:read"}, "admin:write:reports")


def test_token_bodies_and_client_authentication(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await client_app(client, scopes="read write")
            grant = {"grant_type": "client_credentials", "scope": "read"}
            posted = {**grant, "client_id": app["client_id"], "client_secret": app["client_secret"]}
            basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
            for kwargs in (
                {"json": posted},
                {"data": posted},
                {"data": FormData(posted, default_to_multipart=True)},
                {"data": grant, "headers": {"Authorization": f"Basic {basic}"}},
            ):
                response = await client.post("/oauth/token", **kwargs)
                assert response.status == 200, (kwargs, await response.text())
                assert (await response.json())["scope"] == "read"
            failures: list[tuple[dict[str, Any], int, str]] = [
                ({**posted, "scope": "read follow"}, 400, "invalid_scope"),
                ({**posted, "grant_type": "implicit"}, 400, "unsupported_grant_type"),
                ({**posted, "client_secret": "wrong"}, 401, "invalid_client"),
                (grant, 401, "invalid_client"),
            ]
            for body, status, error in failures:
                response = await client.post("/oauth/token", data=body)
                assert response.status == status and (await response.json())["error"] == error, body
            bad_basic = await client.post("/oauth/token", data=grant, headers={"Authorization": "Basic !!"})
            assert bad_basic.status == 401

    asyncio.run(scenario())


def test_revoke_only_the_clients_own_tokens(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app, other = await client_app(client), await client_app(client, name="other")
            token = await app_token(client, app, scope="read")
            stranger = {"token": token, "client_id": other["client_id"], "client_secret": other["client_secret"]}
            refused = await client.post("/oauth/revoke", data=stranger)
            assert refused.status == 403 and (await refused.json())["error"] == "unauthorized_client"
            assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))).status == 200
            unknown = await client.post("/oauth/revoke", json={**stranger, "token": "never-issued"})
            assert unknown.status == 200 and await unknown.json() == {}
            owner = {**stranger, "client_id": app["client_id"], "client_secret": app["client_secret"]}
            assert (await client.post("/oauth/revoke", json=owner)).status == 200
            assert (await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))).status == 401

    asyncio.run(scenario())


async def password_token(client: TestClient[Any, Any], app: dict[str, Any], name: str, scope: str) -> str:
    """A user token of `name` with `scope`, by the password grant."""
    form = {"grant_type": "password", "username": name, "password": f"{name}-pass", "scope": scope}
    response = await client.post(
        "/oauth/token", data={**form, "client_id": app["client_id"], "client_secret": app["client_secret"]}
    )
    assert response.status == 200, await response.text()
    return str((await response.json())["access_token"])


def test_scopes_are_enforced_per_route(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await client_app(client, scopes="read write follow profile push")
            await user(client, "gina")
            await user(client, "hugo")
            hugo = (await (await client.get("/api/v1/accounts/lookup?acct=hugo")).json())["id"]
            tokens = {
                s: await password_token(client, app, "gina", s) for s in ("read", "write:statuses", "follow", "profile")
            }
            app_only = await app_token(client, app, scope="read")
            cases: list[tuple[str, str, str | None, int]] = [
                ("POST", "/api/v1/statuses", tokens["read"], 403),  # a read-only token cannot post
                ("POST", "/api/v1/statuses", tokens["write:statuses"], 200),
                ("POST", "/api/v1/statuses", tokens["follow"], 403),
                ("POST", f"/api/v1/accounts/{hugo}/follow", tokens["follow"], 200),  # follow covers write:follows
                ("POST", f"/api/v1/accounts/{hugo}/follow", tokens["write:statuses"], 403),
                ("GET", "/api/v1/timelines/home", tokens["read"], 200),
                ("GET", "/api/v1/timelines/home", tokens["profile"], 403),
                ("GET", "/api/v1/timelines/home", None, 401),
                ("GET", "/api/v1/accounts/verify_credentials", tokens["profile"], 200),
                ("GET", "/api/v1/accounts/verify_credentials", tokens["follow"], 403),
                ("GET", "/oauth/userinfo", tokens["profile"], 200),
                ("GET", "/oauth/userinfo", tokens["read"], 403),
                ("GET", f"/api/v1/accounts/{hugo}", None, 200),  # public, but a token given must fit
                ("GET", f"/api/v1/accounts/{hugo}", tokens["write:statuses"], 403),
                ("GET", "/api/v1/preferences", tokens["read"], 200),
                ("GET", "/api/v1/preferences", app_only, 422),
                ("GET", "/api/v1/announcements", tokens["read"], 200),
                ("GET", "/api/v1/apps/verify_credentials", tokens["profile"], 200),  # any valid token
                ("GET", "/api/v1/custom_emojis", None, 200),
            ]
            for method, path, token, status in cases:
                headers = bearer(token) if token else {}
                response = await client.request(method, path, headers=headers, json={"status": "hi"})
                assert response.status == status, (method, path, token, await response.text())
                if status == 403:
                    assert (await response.json())["error"] == OUTSIDE

    asyncio.run(scenario())


def test_oauth_entities_match_the_openapi_description(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            response = await client.post(
                "/api/v1/apps",
                json={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"},
            )
            app = await response.json()
            assert_valid(schemas, "CredentialApplication", app)
            token = await app_token(client, app, scope="read")
            assert_valid(
                schemas,
                "Application",
                await (await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))).json(),
            )
            form = {
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
            }
            assert_valid(schemas, "Token", await (await client.post("/oauth/token", data=form)).json())
            await user(client, "ivy")
            user_token = await password_token(client, app, "ivy", "read")
            preferences = await (await client.get("/api/v1/preferences", headers=bearer(user_token))).json()
            assert_valid(schemas, "Preferences", preferences)

    asyncio.run(scenario())
