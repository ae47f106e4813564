"""Search through the search module: account and hashtag prefixes, statuses the caller may search."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import ok, sign_up
from tests.api.support import served


def test_search_finds_prefixes_hashtags_and_searchable_statuses(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, bobby, carol = await sign_up(client, "alice", "bob", "bobby", "carol")
            await ok(
                await client.patch(
                    "/api/v1/accounts/update_credentials", data={"display_name": "Robert Jones"}, headers=bobby.auth
                )
            )
            for text in ("#hashtag_x walrus", "#hashtag_y", "#hashtag_z and #other"):
                await ok(await client.post("/api/v1/statuses", data={"status": text}, headers=alice.auth))
            await ok(await client.post("/api/v1/statuses", data={"status": "walrus news"}, headers=carol.auth))
            await cluster.controls.wait_idle()

            def search(q: str, **params: str) -> str:
                query = "&".join(f"{k}={v}" for k, v in params.items())
                return f"/api/v2/search?q={quote(q)}" + (f"&{query}" if query else "")

            found = await ok(await client.get(search("#hashtag"), headers=bob.auth))  # shortest, then by name
            assert [h["name"] for h in found["hashtags"]] == ["hashtag_x", "hashtag_y", "hashtag_z"]
            assert found["accounts"] == [] and found["statuses"] == []
            assert_valid(schemas, "Search", found)
            exact = await ok(await client.get(search("hashtag_y", type="hashtags")))
            assert [h["name"] for h in exact["hashtags"]] == ["hashtag_y"]
            assert exact["hashtags"][0]["history"][0]["uses"] == "1"

            # The exact address leads, then the prefix matches; display names match too.
            people = await ok(await client.get(search("bob", type="accounts")))
            assert [a["username"] for a in people["accounts"]] == ["bob", "bobby"]
            assert [a["username"] for a in (await ok(await client.get(search("rob"))))["accounts"]] == ["bobby"]
            assert [a["username"] for a in (await ok(await client.get(search("robert jo"))))["accounts"]] == ["bobby"]
            second = await ok(await client.get(search("bob", type="accounts", offset="1"), headers=alice.auth))
            assert [a["username"] for a in second["accounts"]] == ["bobby"]
            assert (await ok(await client.get(search("bob@elsewhere.example"))))["accounts"] == []

            # Statuses: only the caller's own (or mentioned, favourited, bookmarked) ones; none when anonymous.
            mine = await ok(await client.get(search("walrus", type="statuses"), headers=alice.auth))
            assert len(mine["statuses"]) == 1 and "walrus" in mine["statuses"][0]["content"]
            assert_valid(schemas, "Search", mine)
            assert (await ok(await client.get(search("walrus", type="statuses"))))["statuses"] == []
            theirs = await ok(await client.get(search("walrus", type="statuses"), headers=carol.auth))
            assert [s["account"]["username"] for s in theirs["statuses"]] == ["carol"]

    asyncio.run(scenario())
