"""`PATCH /api/v1/accounts/update_credentials` end to end: JSON, form and multipart bodies, validation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import app_token, bearer, make_app, served

PATH = "/api/v1/accounts/update_credentials"


def test_update_profile_with_json_and_form_bodies(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            body = {
                "display_name": "Alice A.",
                "note": "hello\n\nworld",
                "bot": True,
                "fields_attributes": [{"name": "site", "value": "example.org"}, {"name": "", "value": ""}],
                "source": {"privacy": "private", "sensitive": True, "language": "fr"},
            }
            updated = await ok(await client.patch(PATH, json=body, headers=alice.auth))
            assert_valid(schemas, "CredentialAccount", updated)
            assert (updated["display_name"], updated["bot"], updated["locked"]) == ("Alice A.", True, False)
            assert updated["note"] == "<p>hello</p><p>world</p>" and updated["source"]["note"] == "hello\n\nworld"
            assert [(f["name"], f["value"]) for f in updated["fields"]] == [("site", "example.org")]  # blank dropped
            form = {
                "fields_attributes[1][name]": "b",
                "fields_attributes[1][value]": "2",
                "fields_attributes[0][name]": "a",
                "fields_attributes[0][value]": "1",
                "bot": "false",
            }
            changed = await ok(await client.patch(PATH, data=form, headers=alice.auth))
            assert [(f["name"], f["value"]) for f in changed["fields"]] == [("a", "1"), ("b", "2")]
            assert (changed["bot"], changed["display_name"]) == (False, "Alice A.")  # untouched fields stay
            upload = aiohttp.FormData()
            upload.add_field("display_name", "Multi")
            upload.add_field("avatar", b"\x89PNG not really", filename="a.png", content_type="image/png")
            assert "Avatar" in await error(await client.patch(PATH, data=upload, headers=alice.auth), 422)
            texts = aiohttp.FormData()
            texts.add_field("display_name", "Multi")
            texts.add_field("note", "from a multipart body")
            multipart = await ok(await client.patch(PATH, data=texts, headers=alice.auth))
            assert multipart["display_name"] == "Multi" and multipart["avatar"].endswith("/missing.png")
            me = await ok(await client.get("/api/v1/accounts/verify_credentials", headers=alice.auth))
            assert (me["display_name"], len(me["fields"])) == ("Multi", 2)  # the broken avatar applied nothing
            unchanged = await ok(await client.patch(PATH, headers=alice.auth))
            assert unchanged["display_name"] == "Multi"

    asyncio.run(scenario())


def test_locking_turns_follows_into_requests(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            owner, fan = await sign_up(client, "owner", "fan")
            assert (await ok(await client.patch(PATH, data={"locked": "1"}, headers=owner.auth)))["locked"] is True
            asked = await ok(await client.post(f"/api/v1/accounts/{owner.id}/follow", headers=fan.auth))
            assert asked["requested"] is True
            assert (await ok(await client.patch(PATH, json={"locked": False}, headers=owner.auth)))["locked"] is False
            rel = await ok(await client.get(f"/api/v1/accounts/relationships?id[]={owner.id}", headers=fan.auth))
            assert (rel[0]["following"], rel[0]["requested"]) == (True, False)  # unlocking accepts what waited

    asyncio.run(scenario())


def test_update_credentials_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            assert "over the limit" in await error(
                await client.patch(PATH, json={"display_name": "x" * 31}, headers=alice.auth), 422
            )
            assert await error(
                await client.patch(PATH, json={"source": {"privacy": "direct"}}, headers=alice.auth), 422
            )
            assert await error(await client.patch(PATH, data={"source[privacy]": "everyone"}, headers=alice.auth), 422)
            assert await error(await client.patch(PATH, data={"bot": "maybe"}, headers=alice.auth), 422)
            five = [{"name": str(n), "value": "v"} for n in range(5)]
            assert await error(await client.patch(PATH, json={"fields_attributes": five}, headers=alice.auth), 422)
            assert await error(await client.patch(PATH, json={"display_name": "x"}), 401)
            read_only = await app_token(client, await make_app(client), scope="read")
            assert await error(await client.patch(PATH, json={"display_name": "x"}, headers=bearer(read_only)), 403)
            me = await ok(await client.get("/api/v1/accounts/verify_credentials", headers=alice.auth))
            assert me["display_name"] == "" and me["fields"] == []  # nothing half-applied

    asyncio.run(scenario())
