"""Suggestion routes end to end: v2 Suggestions with sources, v1 Accounts, dismissal."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import User, error, ok, sign_up
from tests.api.support import app_token, bearer, make_app, served


def test_friends_of_friends_then_most_followed_and_dismissal(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob, carol, dave, erin = await sign_up(client, "alice", "bob", "carol", "dave", "erin")
            follows: list[tuple[User, User]] = [(alice, bob), (bob, carol), (bob, dave), (carol, erin)]
            for follower, followee in follows:
                await ok(await client.post(f"/api/v1/accounts/{followee.id}/follow", headers=follower.auth))
            found = await ok(await client.get("/api/v2/suggestions", headers=alice.auth))
            for entry in found:
                assert_valid(schemas, "Suggestion", entry)
            sources = {entry["account"]["id"]: entry["sources"] for entry in found}
            assert sources == {
                carol.id: ["friends_of_friends", "most_followed"],
                dave.id: ["friends_of_friends", "most_followed"],
                erin.id: ["most_followed"],
            }
            assert [entry["account"]["id"] for entry in found][-1] == erin.id  # friends of friends rank first
            limited = await ok(await client.get("/api/v2/suggestions?limit=1", headers=alice.auth))
            assert len(limited) == 1
            assert await ok(await client.delete(f"/api/v1/suggestions/{carol.id}", headers=alice.auth)) == {}
            accounts = await ok(await client.get("/api/v1/suggestions", headers=alice.auth))
            for account in accounts:
                assert_valid(schemas, "Account", account)
            assert sorted(a["id"] for a in accounts) == sorted([dave.id, erin.id])
            assert await ok(await client.delete(f"/api/v1/suggestions/{alice.id}", headers=alice.auth)) == {}

    asyncio.run(scenario())


def test_suggestion_scopes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            await sign_up(client, "alice")
            assert await error(await client.get("/api/v2/suggestions"), 401)
            app = await make_app(client, scopes="read write follow")
            narrow = await app_token(client, app, scope="read:accounts")
            assert await error(await client.get("/api/v2/suggestions", headers=bearer(narrow)), 403)
            assert await error(await client.delete("/api/v1/suggestions/x1", headers=bearer(narrow)), 403)

    asyncio.run(scenario())
