"""The authorization code flow end to end: the login page, PKCE, single use, expiry, refusals, CSRF."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import FormData

from cluster.testing import FakeClock
from modules.auth.codes import CODE_TTL_MS
from tests.api.oauth_support import (
    CALLBACK,
    OOB,
    authorize_query,
    client_app,
    code_for,
    exchange,
    open_form,
    pkce_pair,
    redirect_query,
    shown_code,
    submit,
    user,
)
from tests.api.support import bearer, served


def test_authorization_code_flow_with_pkce(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await client_app(client, name="<b>Elk</b>")
            await user(client, "alice")
            verifier, challenge = pkce_pair()
            page = await client.get("/oauth/authorize", params=authorize_query(app, challenge))
            text = await page.text()
            assert page.status == 200 and "&lt;b&gt;Elk&lt;/b&gt;" in text and "<b>Elk" not in text
            assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
            assert "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Lax" in page.headers["Set-Cookie"]
            fields = await open_form(client, authorize_query(app, challenge))
            answer = await submit(client, fields, "ALICE@example.org", "alice-pass")
            assert answer.headers["Location"].startswith(CALLBACK + "&code=")
            query = redirect_query(answer)
            assert query["state"] == "st<ate>" and query["from"] == "tusk"
            response = await client.post("/oauth/token", json=exchange(app, query["code"], verifier))
            assert response.status == 200, await response.text()
            assert response.headers["Cache-Control"] == "no-store"
            issued = await response.json()
            assert issued["scope"] == "read write" and issued["token_type"] == "Bearer"
            token = issued["access_token"]
            me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
            assert me.status == 200 and (await me.json())["username"] == "alice"
            verified = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
            assert (await verified.json())["name"] == "<b>Elk</b>"
            assert (await client.get("/oauth/userinfo", headers=bearer(token))).status == 403  # no `profile`
            form = {"token": token, "client_id": app["client_id"], "client_secret": app["client_secret"]}
            revoked = await client.post("/oauth/revoke", data=form)
            assert revoked.status == 200 and await revoked.json() == {}
            for path in ("/api/v1/accounts/verify_credentials", "/api/v1/apps/verify_credentials"):
                after = await client.get(path, headers=bearer(token))
                assert after.status == 401 and (await after.json())["error"] == "The access token is invalid"

    asyncio.run(scenario())


def test_a_code_is_single_use_and_bound_to_its_request(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app, other = await client_app(client), await client_app(client, name="other")
            await user(client, "bob")
            verifier, challenge = pkce_pair()
            code = await code_for(client, app, "bob", challenge)
            wrong: list[dict[str, str]] = [
                exchange(app, code, pkce_pair()[0]),
                exchange(app, code, None),
                exchange(app, code, verifier, redirect_uri=OOB),
                exchange(other, code, verifier),
                exchange(app, code + "x", verifier),
            ]
            for body in wrong:
                response = await client.post("/oauth/token", data=body)
                assert response.status == 400, body
                assert (await response.json())["error"] == "invalid_grant"
                assert "error_description" in await response.json()
            first = await client.post("/oauth/token", data=exchange(app, code, verifier))
            assert first.status == 200, await first.text()
            token = (await first.json())["access_token"]
            replay = await client.post("/oauth/token", data=exchange(app, code, verifier))
            assert replay.status == 400 and (await replay.json())["error"] == "invalid_grant"
            # A replayed code is a stolen code: what it was exchanged for stops working (RFC 6749 4.1.2).
            assert (await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))).status == 401
            plain = await code_for(client, app, "bob", None)
            downgrade = await client.post("/oauth/token", data=exchange(app, plain, verifier))
            assert downgrade.status == 400  # a verifier for a code granted without a challenge

    asyncio.run(scenario())


def test_a_code_expires_after_ten_minutes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            clock = cluster.clock
            assert isinstance(clock, FakeClock)
            app = await client_app(client)
            await user(client, "carol")
            verifier, challenge = pkce_pair()
            on_time, late = (
                await code_for(client, app, "carol", challenge),
                await code_for(client, app, "carol", challenge),
            )
            clock.advance(CODE_TTL_MS)
            assert (await client.post("/oauth/token", data=exchange(app, on_time, verifier))).status == 200
            clock.advance(1)
            expired = await client.post("/oauth/token", data=exchange(app, late, verifier))
            assert expired.status == 400 and (await expired.json())["error"] == "invalid_grant"

    asyncio.run(scenario())


def test_out_of_band_shows_the_code(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await client_app(client, scopes="read write profile")
            await user(client, "dora")
            query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB, "scope": "profile"}
            page = await submit(client, await open_form(client, query), "dora", "dora-pass")
            assert page.status == 200 and page.content_type == "text/html"
            code = shown_code(await page.text())
            form = FormData(exchange(app, code, None, redirect_uri=OOB), default_to_multipart=True)  # multipart too
            response = await client.post("/oauth/token", data=form)
            assert response.status == 200, await response.text()
            token = (await response.json())["access_token"]
            claims = await (await client.get("/oauth/userinfo", headers=bearer(token))).json()
            assert claims["preferred_username"] == "dora" and claims["sub"].endswith("/users/dora")
            assert claims["iss"] == "http://127.0.0.1:8080/" and claims["profile"] == "http://127.0.0.1:8080/@dora"
            assert (await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))).status == 200
            assert (await client.get("/api/v1/timelines/home", headers=bearer(token))).status == 403

    asyncio.run(scenario())


def test_requests_the_page_refuses(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await client_app(client, scopes="read")
            await user(client, "erin")
            _, challenge = pkce_pair()
            for query in (
                {**authorize_query(app, challenge, scope="read"), "client_id": "unknown"},
                {**authorize_query(app, challenge, scope="read"), "redirect_uri": "https://evil.example/cb"},
            ):
                page = await client.get("/oauth/authorize", params=query, allow_redirects=False)
                assert page.status == 400 and "Authorization failed" in await page.text()  # never redirected
            refusals: list[tuple[dict[str, str], str]] = [
                (authorize_query(app, challenge, scope="read write"), "invalid_scope"),  # beyond the app's scopes
                (authorize_query(app, challenge, scope="read nonsense"), "invalid_scope"),
                (authorize_query(app, challenge, scope="read", code_challenge_method="plain"), "invalid_request"),
                (authorize_query(app, "short", scope="read"), "invalid_request"),
                (authorize_query(app, challenge, scope="read", response_type="token"), "unsupported_response_type"),
            ]
            for query, error in refusals:
                answer = redirect_query(await client.get("/oauth/authorize", params=query, allow_redirects=False))
                assert answer["error"] == error and answer["state"] == "st<ate>", (query, answer)

    asyncio.run(scenario())


def test_the_form_denies_rejects_bad_logins_and_forgeries(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await client_app(client)
            await user(client, "fred")
            _, challenge = pkce_pair()
            fields = await open_form(client, authorize_query(app, challenge))
            denied = redirect_query(await submit(client, fields, "", "", decision="deny"))
            assert denied["error"] == "access_denied" and "code" not in denied
            wrong = await submit(client, fields, "fred", "not-the-password")
            assert wrong.status == 401 and "Invalid login or password" in await wrong.text()
            escalated = {**fields, "scope": "read write follow"}  # the token is bound to the scopes shown
            assert (await submit(client, escalated, "fred", "fred-pass")).status == 403
            assert (await submit(client, {**fields, "csrf_token": "1.forged"}, "fred", "fred-pass")).status == 403
            client.session.cookie_jar.clear()  # another site's form: no cookie from our page
            forged = await submit(client, fields, "fred", "fred-pass")
            assert forged.status == 403 and "Location" not in forged.headers

    asyncio.run(scenario())
