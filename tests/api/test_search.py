"""Search end to end: exact local addresses through v2 and v1, empty results, parameters, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import served

DOMAIN = "127.0.0.1:8080"  # the default ApiConfig's
EMPTY = {"accounts": [], "statuses": [], "hashtags": []}


def test_search_finds_exact_local_addresses(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob = await sign_up(client, "alice", "bob")
            for q in ("bob", "@bob", "BOB", f"bob@{DOMAIN}", f"@Bob@{DOMAIN}", f"http://{DOMAIN}/@bob"):
                found = await ok(await client.get(f"/api/v2/search?q={quote(q)}"))
                assert [a["id"] for a in found["accounts"]] == [bob.id], q
                assert found["statuses"] == [] and found["hashtags"] == []
                assert_valid(schemas, "Search", found)
            for q in ("nobody", "bob@elsewhere.example", "#tag", "two words", "https://elsewhere.example/@bob"):
                assert await ok(await client.get(f"/api/v2/search?q={quote(q)}")) == EMPTY, q
            hashtags_only = await ok(await client.get("/api/v2/search?q=bob&type=hashtags"))
            assert hashtags_only == EMPTY
            resolved = await ok(await client.get("/api/v2/search?q=bob&type=accounts&resolve=true", headers=alice.auth))
            assert [a["acct"] for a in resolved["accounts"]] == ["bob"]
            skipped = await ok(await client.get("/api/v2/search?q=bob&type=accounts&offset=1", headers=alice.auth))
            assert skipped == EMPTY
            followed = await ok(await client.get("/api/v2/search?q=bob&following=true", headers=alice.auth))
            assert followed["accounts"] == []
            await ok(await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.auth))
            followed = await ok(await client.get("/api/v2/search?q=bob&following=true", headers=alice.auth))
            assert [a["id"] for a in followed["accounts"]] == [bob.id]
            v1 = await ok(await client.get("/api/v1/accounts/search?q=@alice", headers=bob.auth))
            assert [a["id"] for a in v1] == [alice.id] and v1[0]["username"] == "alice"
            assert await ok(await client.get("/api/v1/accounts/search?q=zed")) == []

    asyncio.run(scenario())


def test_search_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            assert "q" in await error(await client.get("/api/v2/search"), 400)
            assert "resolve" in await error(await client.get("/api/v2/search?q=bob&resolve=true"), 401)
            assert "pagination" in await error(await client.get("/api/v2/search?q=bob&type=accounts&offset=2"), 401)
            assert await error(await client.get("/api/v2/search?q=bob&limit=ten"), 422)
            assert await error(await client.get("/api/v2/search?q=bob", headers={"Authorization": "Bearer x"}), 401)

    asyncio.run(scenario())
