"""Trends, tags, featured tags and the directory over a real server and a real cluster (as `tusk run`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from tests.api.discovery_support import get_json, links, newest_first, post, with_users
from tests.api.openapi import assert_valid, load_schemas
from tests.api.support import CHEAP, bearer

USERS = ("ann", "ben", "cid", "dee", "eve", "fay")  # Mastodon's trends need 5 distinct accounts


def test_trending_tags_links_and_statuses(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with with_users(tmp_path, *USERS) as (client, cluster, tokens, _):
            for name in USERS:
                await post(client, tokens[name], f"#Hot take from {name} https://News.example/story")
            for name in USERS[:2]:
                await post(client, tokens[name], "#lukewarm, only two of us")
            await cluster.controls.wait_idle()

            trending = await get_json(client, "/api/v1/trends/tags")
            assert [t["name"] for t in trending] == ["hot"]
            assert_valid(schemas, "Tag", trending[0])
            assert trending[0]["url"] == f"{CHEAP.base_url}/tags/hot"
            assert trending[0]["history"][0]["uses"] == "6" and trending[0]["history"][0]["accounts"] == "6"
            assert await get_json(client, "/api/v1/trends") == trending  # the older path
            assert await get_json(client, "/api/v1/trends/tags?offset=1") == []

            found_links = await get_json(client, "/api/v1/trends/links", tokens["ann"])
            assert [link["url"] for link in found_links] == ["https://news.example/story"]
            assert_valid(schemas, "TrendsLink", found_links[0])
            assert found_links[0]["provider_name"] == "news.example"
            assert await get_json(client, "/api/v1/trends/statuses") == []  # nothing is boosted yet

            page = await client.get("/api/v1/trends/tags?limit=1")
            assert links(page.headers["Link"]) == {"next": "/api/v1/trends/tags?limit=1&offset=1"}
            page = await client.get("/api/v1/trends/tags?limit=1&offset=1")
            assert links(page.headers["Link"]) == {"prev": "/api/v1/trends/tags?limit=1&offset=0"}

    asyncio.run(scenario())


def test_a_tag_shows_its_history_and_whether_the_caller_features_it(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with with_users(tmp_path, "ann", "ben") as (client, cluster, tokens, _):
            await post(client, tokens["ann"], "#Rust is fun")
            await post(client, tokens["ben"], "#rust again")
            await post(client, tokens["ben"], "#rust quietly", visibility="unlisted")
            await cluster.controls.wait_idle()
            tag = await get_json(client, "/api/v1/tags/RUST")
            assert_valid(schemas, "Tag", tag)
            assert (tag["name"], tag["following"], tag["featuring"]) == ("rust", None, None)
            assert len(tag["history"]) == 7
            assert (tag["history"][0]["uses"], tag["history"][0]["accounts"]) == ("3", "2")
            assert {h["uses"] for h in tag["history"][1:]} == {"0"}
            unused = await get_json(client, "/api/v1/tags/neverused", tokens["ann"])
            assert (unused["name"], unused["following"], unused["featuring"]) == ("neverused", False, False)
            assert await get_json(client, "/api/v1/tags/not-a-tag", status=404) == {"error": "Record not found"}
            await get_json(client, "/api/v1/tags/2024", status=404)  # digits only: not a hashtag

            response = await client.post("/api/v1/featured_tags", data={"name": "rust"}, headers=bearer(tokens["ann"]))
            assert response.status == 200
            assert (await get_json(client, "/api/v1/tags/rust", tokens["ann"]))["featuring"] is True

    asyncio.run(scenario())


def test_featured_tags_feature_list_suggest_and_unfeature(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with with_users(tmp_path, "ann", "ben") as (client, cluster, tokens, ids):
            ann = tokens["ann"]
            for text in ("#python one", "#Python two", "#rust three", "#go four"):
                await post(client, ann, text)
            await cluster.controls.wait_idle()
            assert await get_json(client, "/api/v1/featured_tags", ann) == []

            response = await client.post("/api/v1/featured_tags", data={"name": "#Python"}, headers=bearer(ann))
            assert response.status == 200, await response.text()
            python = await response.json()
            assert_valid(schemas, "FeaturedTag", python)
            assert (python["id"], python["name"], python["statuses_count"]) == ("python", "Python", "2")
            assert python["url"] == f"{CHEAP.base_url}/@ann/tagged/Python"
            assert len(python["last_status_at"]) == 10  # a day, as Mastodon gives it
            again = await client.post("/api/v1/featured_tags", json={"name": "python"}, headers=bearer(ann))
            assert again.status == 200 and (await again.json())["id"] == "python"
            assert isinstance(cluster.clock, FakeClock)
            cluster.clock.advance(1_000)  # featured tags list oldest first
            empty = await client.post("/api/v1/featured_tags", data={"name": "ok"}, headers=bearer(ann))
            assert empty.status == 200 and (await empty.json())["statuses_count"] == "0"

            assert [f["id"] for f in await get_json(client, "/api/v1/featured_tags", ann)] == ["python", "ok"]
            public = await get_json(client, f"/api/v1/accounts/{ids['ann']}/featured_tags")
            assert [f["name"] for f in public] == ["Python", "ok"]
            suggested = await get_json(client, "/api/v1/featured_tags/suggestions", ann)
            assert sorted(t["name"] for t in suggested) == ["go", "rust"]  # used lately, not featured yet
            for tag in suggested:
                assert_valid(schemas, "Tag", tag)

            bad = await client.post("/api/v1/featured_tags", data={"name": "not a tag"}, headers=bearer(ann))
            assert bad.status == 422 and "hashtag" in (await bad.json())["error"]
            missing = await client.post("/api/v1/featured_tags", data={}, headers=bearer(ann))
            assert missing.status == 400
            gone = await client.delete("/api/v1/featured_tags/python", headers=bearer(ann))
            assert gone.status == 200 and await gone.json() == {}
            not_featured = await client.delete("/api/v1/featured_tags/python", headers=bearer(ann))
            assert not_featured.status == 404
            assert [f["id"] for f in await get_json(client, "/api/v1/featured_tags", ann)] == ["ok"]
            assert await get_json(client, "/api/v1/featured_tags", tokens["ben"]) == []
            await get_json(client, "/api/v1/featured_tags", status=401)
            await get_json(client, "/api/v1/accounts/123/featured_tags", status=404)

    asyncio.run(scenario())


def test_featuring_is_limited_to_ten_tags(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with with_users(tmp_path, "ann") as (client, _, tokens, _):
            for n in range(10):
                response = await client.post(
                    "/api/v1/featured_tags", data={"name": f"tag{n}"}, headers=bearer(tokens["ann"])
                )
                assert response.status == 200
            response = await client.post(
                "/api/v1/featured_tags", data={"name": "eleven"}, headers=bearer(tokens["ann"])
            )
            assert response.status == 422
            assert await response.json() == {"error": "Validation failed: an account features at most 10 tags"}

    asyncio.run(scenario())


def test_the_directory_lists_active_and_new_accounts(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with with_users(tmp_path, "ann", "ben", "cid") as (client, cluster, tokens, ids):
            assert isinstance(cluster.clock, FakeClock)
            await post(client, tokens["ann"], "first")
            cluster.clock.advance(1_000)
            await post(client, tokens["cid"], "later")
            await cluster.controls.wait_idle()

            new = await get_json(client, "/api/v1/directory?order=new")
            assert [a["id"] for a in new] == newest_first(*ids.values())
            for account in new:
                assert_valid(schemas, "Account", account)
            active = [a["username"] for a in await get_json(client, "/api/v1/directory?local=true")]
            assert active == ["cid", "ann"]  # by last status; ben never posted
            assert await get_json(client, "/api/v1/directory?order=new&limit=1&offset=1") == new[1:2]
            await get_json(client, "/api/v1/directory?order=popular", status=422)

    asyncio.run(scenario())
