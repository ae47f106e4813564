"""Endorsement routes end to end: pin / unpin (and endorse / unendorse), the lists, the follow rule."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import served


def test_pin_and_unpin_followed_accounts(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            refused = await client.post(f"/api/v1/accounts/{bob.id}/pin", headers=alice.auth)
            assert "must follow" in await error(refused, 422)
            for other in (bob, carol):
                await ok(await client.post(f"/api/v1/accounts/{other.id}/follow", headers=alice.auth))
            pinned = await ok(await client.post(f"/api/v1/accounts/{bob.id}/pin", headers=alice.auth))
            assert_valid(schemas, "Relationship", pinned)
            assert (pinned["id"], pinned["endorsed"], pinned["following"]) == (bob.id, True, True)
            endorsed = await ok(await client.post(f"/api/v1/accounts/{carol.id}/endorse", headers=alice.auth))
            assert endorsed["endorsed"] is True
            newest_first = sorted([bob.id, carol.id], key=int, reverse=True)
            mine = await ok(await client.get("/api/v1/endorsements", headers=alice.auth))
            assert [a["id"] for a in mine] == newest_first
            for account in mine:
                assert_valid(schemas, "Account", account)
            page = await client.get("/api/v1/endorsements?limit=1", headers=alice.auth)
            assert [a["id"] for a in await ok(page)] == newest_first[:1]
            rest = await ok(await client.get(page.links["next"]["url"].path_qs, headers=alice.auth))
            assert [a["id"] for a in rest] == newest_first[1:]
            public = await ok(await client.get(f"/api/v1/accounts/{alice.id}/endorsements"))  # no token needed
            assert [a["id"] for a in public] == newest_first
            unpinned = await ok(await client.post(f"/api/v1/accounts/{bob.id}/unpin", headers=alice.auth))
            assert unpinned["endorsed"] is False
            await ok(await client.post(f"/api/v1/accounts/{carol.id}/unfollow", headers=alice.auth))
            assert await ok(await client.get("/api/v1/endorsements", headers=alice.auth)) == []  # unfollow drops it

    asyncio.run(scenario())


def test_endorsement_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            assert await error(await client.post(f"/api/v1/accounts/{alice.id}/pin", headers=alice.auth), 422)
            unpinned = await ok(await client.post(f"/api/v1/accounts/{alice.id}/unpin", headers=alice.auth))
            assert unpinned["endorsed"] is False
            assert await error(await client.post("/api/v1/accounts/99999/pin", headers=alice.auth), 404)
            assert await error(await client.get("/api/v1/accounts/99999/endorsements"), 404)
            assert await error(await client.get("/api/v1/endorsements"), 401)

    asyncio.run(scenario())
