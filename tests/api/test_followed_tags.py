"""Followed hashtag routes end to end: follow, unfollow, the paged list, names and errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import app_token, bearer, make_app, served


def test_follow_list_and_unfollow_tags(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice, bob] = await sign_up(client, "alice", "bob")
            assert await ok(await client.get("/api/v1/followed_tags", headers=alice.auth)) == []
            followed = await ok(await client.post("/api/v1/tags/Tusk/follow", headers=alice.auth))
            assert_valid(schemas, "Tag", followed)
            assert (followed["name"], followed["following"]) == ("tusk", True)
            assert followed["url"].endswith("/tags/tusk")
            again = await ok(await client.post("/api/v1/tags/%23tusk/follow", headers=alice.auth))
            assert again == followed  # idempotent, '#' and case folded
            for name in ("zebra", "apple", "mango"):
                await ok(await client.post(f"/api/v1/tags/{name}/follow", headers=alice.auth))
            first = await client.get("/api/v1/followed_tags?limit=2", headers=alice.auth)
            assert [t["name"] for t in await ok(first)] == ["apple", "mango"]
            second = await client.get(first.links["next"]["url"].path_qs, headers=alice.auth)
            assert [t["name"] for t in await ok(second)] == ["tusk", "zebra"]
            third = await client.get(second.links["next"]["url"].path_qs, headers=alice.auth)
            assert await ok(third) == [] and "Link" not in third.headers
            for tag in await ok(await client.get("/api/v1/followed_tags", headers=alice.auth)):
                assert_valid(schemas, "Tag", tag)
                assert tag["following"] is True
            assert await ok(await client.get("/api/v1/followed_tags", headers=bob.auth)) == []
            unfollowed = await ok(await client.post("/api/v1/tags/tusk/unfollow", headers=alice.auth))
            assert (unfollowed["name"], unfollowed["following"]) == ("tusk", False)
            names = [t["name"] for t in await ok(await client.get("/api/v1/followed_tags", headers=alice.auth))]
            assert names == ["apple", "mango", "zebra"]

    asyncio.run(scenario())


def test_tag_errors_and_scopes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            for bad in ("123", "no-dash", "%20"):
                assert await error(await client.post(f"/api/v1/tags/{bad}/follow", headers=alice.auth), 404)
            assert await error(await client.post("/api/v1/tags/tusk/follow"), 401)
            read_only = await app_token(client, await make_app(client), scope="read")
            assert await error(await client.post("/api/v1/tags/tusk/follow", headers=bearer(read_only)), 403)
            assert await error(await client.get("/api/v1/followed_tags", headers=bearer(read_only)), 422)

    asyncio.run(scenario())
