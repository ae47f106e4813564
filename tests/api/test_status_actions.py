"""Status actions end to end: favourite, reblog, bookmark, pin, mute and their undos, with Mastodon's errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from yarl import URL

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import served


def test_favourite_bookmark_mute_and_who_favourited(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            posted = await ok(await client.post("/api/v1/statuses", json={"status": "like me"}, headers=alice.auth))
            path = f"/api/v1/statuses/{posted['id']}"
            liked = await ok(await client.post(f"{path}/favourite", headers=bob.auth))
            assert_valid(schemas, "Status", liked)
            assert (liked["favourited"], liked["favourites_count"]) == (True, 1)
            assert (await ok(await client.post(f"{path}/favourite", headers=bob.auth)))["favourites_count"] == 1
            cluster.clock.advance(1_000)  # ids of one ms on two tasks are ordered by task, not by time
            await ok(await client.post(f"{path}/favourite", headers=carol.auth))
            who = await client.get(f"{path}/favourited_by?limit=1")
            assert [a["username"] for a in await ok(who)] == ["carol"]
            older = URL(who.headers["Link"].split(";")[0].strip("<>")).path_qs
            assert [a["username"] for a in await ok(await client.get(older))] == ["bob"]
            unliked = await ok(await client.post(f"{path}/unfavourite", headers=bob.auth))
            assert (unliked["favourited"], unliked["favourites_count"]) == (False, 1)
            saved = await ok(await client.post(f"{path}/bookmark", headers=bob.auth))
            assert saved["bookmarked"] is True
            assert (await ok(await client.get(path, headers=bob.auth)))["bookmarked"] is True
            assert (await ok(await client.post(f"{path}/unbookmark", headers=bob.auth)))["bookmarked"] is False
            assert (await ok(await client.post(f"{path}/mute", headers=alice.auth)))["muted"] is True
            assert (await ok(await client.post(f"{path}/unmute", headers=alice.auth)))["muted"] is False
            await error(await client.post("/api/v1/statuses/424242/favourite", headers=bob.auth), 404)
            await error(await client.post(f"{path}/favourite"), 401)

    asyncio.run(scenario())


def test_reblog_wraps_the_original_and_unreblog_answers_with_it(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob = await sign_up(client, "alice", "bob")
            posted = await ok(await client.post("/api/v1/statuses", json={"status": "boost me"}, headers=alice.auth))
            path = f"/api/v1/statuses/{posted['id']}"
            boost = await ok(await client.post(f"{path}/reblog", headers=bob.auth))
            assert_valid(schemas, "Status", boost)
            assert boost["id"] != posted["id"] and boost["account"]["username"] == "bob"
            assert (boost["reblog"]["id"], boost["reblog"]["reblogs_count"]) == (posted["id"], 1)
            assert boost["reblogged"] is True and boost["reblog"]["reblogged"] is True
            again = await ok(await client.post(f"{path}/reblog", headers=bob.auth))
            assert again["id"] == boost["id"]
            by = await ok(await client.get(f"{path}/reblogged_by"))
            assert [a["username"] for a in by] == ["bob"]
            liked_boost = await ok(await client.post(f"/api/v1/statuses/{boost['id']}/favourite", headers=alice.auth))
            assert liked_boost["id"] == posted["id"] and liked_boost["favourited"] is True  # the original
            undone = await ok(await client.post(f"{path}/unreblog", headers=bob.auth))
            assert (undone["id"], undone["reblogged"], undone["reblog"], undone["reblogs_count"]) == (
                posted["id"],
                False,
                None,
                0,
            )
            await error(await client.get(f"/api/v1/statuses/{boost['id']}"), 404)
            secret = await ok(
                await client.post(
                    "/api/v1/statuses", json={"status": "dm @bob", "visibility": "direct"}, headers=alice.auth
                )
            )
            await error(await client.post(f"/api/v1/statuses/{secret['id']}/reblog", headers=bob.auth), 403)

    asyncio.run(scenario())


def test_pins_follow_the_validator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob = await sign_up(client, "alice", "bob")
            ids = []
            for n in range(6):
                posted = await client.post("/api/v1/statuses", json={"status": f"pin {n}"}, headers=alice.auth)
                ids.append((await ok(posted))["id"])
            for status_id in ids[:5]:
                assert (await ok(await client.post(f"/api/v1/statuses/{status_id}/pin", headers=alice.auth)))["pinned"]
            over = await error(await client.post(f"/api/v1/statuses/{ids[5]}/pin", headers=alice.auth), 422)
            assert over == "Validation failed: You have already pinned the maximum number of posts"
            theirs = await error(await client.post(f"/api/v1/statuses/{ids[5]}/pin", headers=bob.auth), 422)
            assert theirs == "Validation failed: Someone else's post cannot be pinned"
            unpinned = await ok(await client.post(f"/api/v1/statuses/{ids[0]}/unpin", headers=alice.auth))
            assert unpinned["pinned"] is False
            profile = await ok(await client.get(f"/api/v1/accounts/{alice.id}/statuses?pinned=true"))
            assert [s["id"] for s in profile] == ids[4:0:-1]

    asyncio.run(scenario())


def test_reblogged_by_pages_up_from_min_id_and_since_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, *boosters = await sign_up(client, "alice", "bob", "carol", "dave")
            posted = await ok(await client.post("/api/v1/statuses", json={"status": "boost me"}, headers=alice.auth))
            path = f"/api/v1/statuses/{posted['id']}"
            boosts = []
            for booster in boosters:
                boosts.append(await ok(await client.post(f"{path}/reblog", headers=booster.auth)))
                cluster.clock.advance(1_000)

            async def names(query: str) -> list[str]:
                return [a["username"] for a in await ok(await client.get(f"{path}/reblogged_by?{query}"))]

            assert await names("") == ["dave", "carol", "bob"]
            assert await names(f"min_id={boosts[0]['id']}&limit=1") == ["carol"]  # the page just above
            assert await names(f"since_id={boosts[0]['id']}&limit=1") == ["dave"]  # the newest above
            assert await names(f"max_id={boosts[2]['id']}&since_id={boosts[0]['id']}") == ["carol"]

    asyncio.run(scenario())
