"""Account lists end to end: followers / following paged by Link headers, follow requests, familiar followers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import User, error, ok, sign_up
from tests.api.support import served


async def walk(client: TestClient[Any, Any], path: str, user: User | None = None) -> list[list[str]]:
    """Follow `Link: rel="next"` from `path` until an empty page; return the ids of every page."""
    pages: list[list[str]] = []
    headers = user.auth if user else {}
    while len(pages) < 10:
        response = await client.get(path, headers=headers)
        ids = [account["id"] for account in await ok(response)]
        if not ids:
            return pages
        pages.append(ids)
        next_link = next(part for part in response.headers["Link"].split(", ") if 'rel="next"' in part)
        path = next_link.split(">")[0][1:].split(str(client.port), 1)[1]
    raise AssertionError(f"too many pages: {pages}")


def test_followers_and_following_page_with_link_headers(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            star, *fans = await sign_up(client, "star", "fan1", "fan2", "fan3", "fan4", "fan5")
            for fan in fans:
                await ok(await client.post(f"/api/v1/accounts/{star.id}/follow", headers=fan.auth))
            pages = await walk(client, f"/api/v1/accounts/{star.id}/followers?limit=2")
            assert [len(page) for page in pages] == [2, 2, 1]
            flat = [i for page in pages for i in page]
            assert sorted(flat, key=int, reverse=True) == flat and set(flat) == {fan.id for fan in fans}
            first = await client.get(f"/api/v1/accounts/{star.id}/followers?limit=2")
            assert f"min_id={flat[0]}" in first.headers["Link"] and "limit=2" in first.headers["Link"]
            newer = await ok(await client.get(f"/api/v1/accounts/{star.id}/followers?min_id={flat[3]}&limit=2"))
            assert [a["id"] for a in newer] == flat[1:3]
            for account in await first.json():
                assert_valid(schemas, "Account", account)
            following = await ok(await client.get(f"/api/v1/accounts/{fans[0].id}/following", headers=fans[1].auth))
            assert [a["id"] for a in following] == [star.id] and following[0]["followers_count"] == 5
            assert await ok(await client.get(f"/api/v1/accounts/{star.id}/following")) == []
            assert await error(await client.get("/api/v1/accounts/99999/followers"), 404) == "Record not found"
            assert await error(await client.get(f"/api/v1/accounts/{star.id}/followers?max_id=abc"), 422)

    asyncio.run(scenario())


def test_follow_requests_of_a_locked_account(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            owner, asker, other = await sign_up(client, "owner", "asker", "other")
            locked = await client.patch(
                "/api/v1/accounts/update_credentials", json={"locked": True}, headers=owner.auth
            )
            assert (await ok(locked))["locked"] is True
            requested = await ok(await client.post(f"/api/v1/accounts/{owner.id}/follow", headers=asker.auth))
            assert (requested["requested"], requested["following"]) == (True, False)
            await ok(await client.post(f"/api/v1/accounts/{owner.id}/follow", headers=other.auth))
            waiting = await ok(await client.get("/api/v1/follow_requests", headers=owner.auth))
            assert {a["id"] for a in waiting} == {asker.id, other.id}
            me = await ok(await client.get("/api/v1/accounts/verify_credentials", headers=owner.auth))
            assert me["source"]["follow_requests_count"] == 2
            assert_valid(schemas, "CredentialAccount", me)
            accepted = await ok(await client.post(f"/api/v1/follow_requests/{asker.id}/authorize", headers=owner.auth))
            assert (accepted["followed_by"], accepted["requested_by"]) == (True, False)
            again = await client.post(f"/api/v1/follow_requests/{asker.id}/authorize", headers=owner.auth)
            assert await error(again, 404) == "Record not found"
            refused = await ok(await client.post(f"/api/v1/follow_requests/{other.id}/reject", headers=owner.auth))
            assert (refused["followed_by"], refused["requested_by"]) == (False, False)
            theirs = await ok(await client.get(f"/api/v1/accounts/relationships?id[]={owner.id}", headers=other.auth))
            assert (theirs[0]["requested"], theirs[0]["following"]) == (False, False)
            assert await ok(await client.get("/api/v1/follow_requests", headers=owner.auth)) == []
            assert await error(await client.get("/api/v1/follow_requests"), 401)

    asyncio.run(scenario())


def test_familiar_followers(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob, carol, dave, erin = await sign_up(client, "alice", "bob", "carol", "dave", "erin")
            for follower, followee in ((alice, bob), (alice, carol), (bob, dave), (carol, dave), (erin, dave)):
                await ok(await client.post(f"/api/v1/accounts/{followee.id}/follow", headers=follower.auth))
            query = f"/api/v1/accounts/familiar_followers?id[]={dave.id}&id[]={erin.id}&id[]=99999"
            found = await ok(await client.get(query, headers=alice.auth))
            assert [entry["id"] for entry in found] == [dave.id, erin.id, "99999"]
            assert {a["id"] for a in found[0]["accounts"]} == {bob.id, carol.id}  # erin follows dave: not alice's
            assert found[1]["accounts"] == [] and found[2]["accounts"] == []
            for entry in found:
                assert_valid(schemas, "FamiliarFollowers", entry)
            assert await error(await client.get(query), 401)

    asyncio.run(scenario())
