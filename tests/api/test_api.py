"""The Mastodon API end to end: OAuth, accounts, follows, statuses, home timeline, errors, CORS."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from cluster.inprocess import InProcessCluster
from cluster.serve import DEMO_ACCOUNTS, launch, seed_demo
from cluster.testing import FakeClock
from tests.api.support import CHEAP, app_token, bearer, make_app, served, signup

OPENAPI = Path("/work/shared/conformance/mastodon-openapi.json")


def test_password_grant_and_credentials(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await make_app(client)
            await signup(client, await app_token(client, app), "alice")
            for login in ("alice", "ALICE@example.org"):
                form = {"grant_type": "password", "username": login, "password": "alice-pass", "scope": "read"}
                form |= {"client_id": app["client_id"], "client_secret": app["client_secret"]}
                response = await client.post("/oauth/token", data=form)
                assert response.status == 200, await response.text()
                token = (await response.json())["access_token"]
                me = await client.get("/api/v1/accounts/verify_credentials/", headers=bearer(token))
                assert me.status == 200 and (await me.json())["username"] == "alice"
            wrong = {**form, "password": "nope"}
            response = await client.post("/oauth/token", data=wrong)
            assert response.status == 400 and (await response.json())["error"] == "invalid_grant"
            response = await client.post("/oauth/token", data={**form, "client_secret": "x"})
            assert response.status == 401

    asyncio.run(scenario())


def test_follow_post_and_home_timeline(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            token = await app_token(client, await make_app(client))
            alice, bob = await signup(client, token, "alice"), await signup(client, token, "bob")
            bob_id = (await (await client.get("/api/v1/accounts/lookup?acct=bob")).json())["id"]
            response = await client.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(alice))
            assert response.status == 200 and (await response.json())["following"] is True
            ids = []
            for n in range(5):
                headers = {**bearer(bob), "Idempotency-Key": f"post-{n}"}
                first = await client.post("/api/v1/statuses", data={"status": f"<b>hi</b> {n}"}, headers=headers)
                again = await client.post("/api/v1/statuses", json={"status": f"<b>hi</b> {n}"}, headers=headers)
                status = await first.json()
                assert first.status == 200 and status["id"] == (await again.json())["id"]
                assert status["content"] == f"<p>&lt;b&gt;hi&lt;/b&gt; {n}</p>"
                ids.append(status["id"])
            await cluster.controls.wait_idle()
            page = await client.get("/api/v1/timelines/home?limit=2&local=true", headers=bearer(alice))
            assert [s["id"] for s in await page.json()] == ids[::-1][:2]
            link = page.headers["Link"]
            assert link.startswith(f"<{CHEAP.base_url}/api/v1/timelines/home?")  # the configured URL, not the Host
            assert "local=true" in link and f"max_id={ids[3]}" in link
            next_url = link.split(">")[0][1:]
            older = await client.get(URL(next_url).path_qs, headers=bearer(alice))
            assert [s["id"] for s in await older.json()] == [ids[2], ids[1]]
            newer = await client.get(f"/api/v1/timelines/home?min_id={ids[0]}&limit=2", headers=bearer(alice))
            assert [s["id"] for s in await newer.json()] == [ids[2], ids[1]]
            since = await client.get(f"/api/v1/timelines/home?since_id={ids[2]}", headers=bearer(alice))
            assert [s["id"] for s in await since.json()] == [ids[4], ids[3]]
            last = await client.get("/api/v1/timelines/home", headers=bearer(alice))  # 5 of 20: nothing older
            assert 'rel="next"' not in last.headers["Link"] and f'min_id={ids[4]}>; rel="prev"' in last.headers["Link"]
            end = await client.get(f"/api/v1/timelines/home?max_id={ids[0]}", headers=bearer(alice))
            assert await end.json() == [] and "Link" not in end.headers
            profile = await client.get(f"/api/v1/accounts/{bob_id}/statuses?limit=1")
            assert [s["id"] for s in await profile.json()] == [ids[4]]
            shown = await (await client.get(f"/api/v1/accounts/{bob_id}")).json()
            assert (shown["statuses_count"], shown["followers_count"]) == (5, 1)
            rels = await client.get(f"/api/v1/accounts/relationships?id[]={bob_id}", headers=bearer(alice))
            assert (await rels.json())[0]["following"] is True
            deleted = await client.delete(f"/api/v1/statuses/{ids[4]}", headers=bearer(bob))
            assert deleted.status == 200 and (await deleted.json())["text"] == "<b>hi</b> 4"
            assert (await client.get(f"/api/v1/statuses/{ids[4]}")).status == 404

    asyncio.run(scenario())


def test_errors_scopes_and_cors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            app = await make_app(client)
            token = await app_token(client, app)
            user = await signup(client, token, "carol")
            read_only = await app_token(client, app, scope="read")
            cases: list[tuple[str, str, dict[str, Any], int]] = [
                ("GET", "/api/v1/timelines/home", {}, 401),
                ("GET", "/api/v1/timelines/home", bearer("bogus"), 401),
                ("POST", "/api/v1/accounts", bearer(read_only), 403),
                ("GET", "/api/v1/timelines/home?limit=abc", bearer(user), 422),
                ("GET", "/api/v1/timelines/home?max_id=x1", bearer(user), 422),
                ("POST", "/api/v1/statuses", bearer(user), 422),
                ("GET", "/api/v1/accounts/999", {}, 404),
                ("GET", "/api/v1/accounts/lookup", {}, 400),
                ("GET", "/api/v1/nothing", {}, 404),
            ]
            for method, path, headers, status in cases:
                response = await client.request(method, path, headers=headers)
                assert response.status == status, (path, await response.text())
                assert "error" in await response.json()
            long = await client.post("/api/v1/statuses", json={"status": "x" * 501}, headers=bearer(user))
            assert long.status == 422 and "over the limit" in (await long.json())["error"]
            taken = {"username": "carol", "email": "c2@example.org", "password": "longenough", "agreement": True}
            response = await client.post("/api/v1/accounts", json=taken, headers=bearer(token))
            assert response.status == 422 and "taken" in (await response.json())["error"]
            bad_json = await client.post(
                "/api/v1/statuses", data=b"{", headers={**bearer(user), "Content-Type": "application/json"}
            )
            assert bad_json.status == 400
            preflight = await client.options(
                "/api/v1/statuses", headers={"Origin": "https://x", "Access-Control-Request-Method": "POST"}
            )
            assert preflight.status == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"
            instance = await client.get("/api/v2/instance")
            assert "Link" in instance.headers["Access-Control-Expose-Headers"]
            assert (await instance.json())["version"] == "4.3.0"
            assert (await (await client.get("/api/v1/instance/")).json())["version"] == "4.3.0"

    asyncio.run(scenario())


def test_entities_match_the_openapi_description(tmp_path: Path) -> None:
    if not OPENAPI.exists():
        pytest.skip(f"{OPENAPI} is absent (the shared conformance files are not on this machine)")
    schemas = json.loads(OPENAPI.read_text())["components"]["schemas"]

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            user = await signup(client, await app_token(client, await make_app(client)), "dora")
            status = await (await client.post("/api/v1/statuses", json={"status": "hi"}, headers=bearer(user))).json()
            check(schemas, "Status", status)
            check(schemas, "Account", status["account"])
            check(
                schemas,
                "Account",
                await (await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user))).json(),
            )

    asyncio.run(scenario())


def check(schemas: dict[str, Any], name: str, entity: dict[str, Any]) -> None:
    """Every property of the schema present (required or nullable alike), each of a type it allows."""
    properties = schemas[name]["properties"]
    assert set(properties) <= set(entity), f"{name} lacks {sorted(set(properties) - set(entity))}"
    for key, spec in properties.items():
        allowed = _types(spec)
        if allowed:
            assert _type_of(entity[key]) in allowed, f"{name}.{key} = {entity[key]!r}, expected {allowed}"


def _types(spec: dict[str, Any]) -> set[str]:
    if "oneOf" in spec:
        return {t for option in spec["oneOf"] for t in (_types(option) or {"object"})}
    if "$ref" in spec and "type" not in spec:
        return {"object"} if "Enum" not in spec["$ref"] else {"string"}
    kind = spec.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _type_of(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names[type(value)]


def test_tusk_run_seeds_the_demo_accounts_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with InProcessCluster(tmp_path, store="memory", clock=FakeClock()) as cluster:
            await launch(cluster)
            ids = await seed_demo(cluster, CHEAP)
            assert await seed_demo(cluster, CHEAP) == ids  # a restart changes nothing
            for name in DEMO_ACCOUNTS:
                assert await cluster.query("core", "account_by_username", name) == ids[name]
                assert await cluster.query("auth", "credentials", ids[name]) is not None
            counts = await cluster.query("relationships", "counts", ids["alice"])
            assert counts["followers_count"] == 2
            assert len(await cluster.query("core", "author_statuses", ids["alice"])) == 1

    asyncio.run(scenario())
