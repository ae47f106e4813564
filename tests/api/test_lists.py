"""List routes end to end: CRUD, members with paging and `limit=0`, the follow rule, ownership, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import app_token, bearer, make_app, served


def test_create_show_update_delete_a_list(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice, bob] = await sign_up(client, "alice", "bob")
            assert await ok(await client.get("/api/v1/lists", headers=alice.auth)) == []
            created = await ok(await client.post("/api/v1/lists", json={"title": " Friends "}, headers=alice.auth))
            assert_valid(schemas, "List", created)
            assert (created["title"], created["replies_policy"], created["exclusive"]) == ("Friends", "list", False)
            form = {"title": "Work", "replies_policy": "none", "exclusive": "true"}
            work = await ok(await client.post("/api/v1/lists", data=form, headers=alice.auth))
            assert (work["replies_policy"], work["exclusive"]) == ("none", True)
            listed = await ok(await client.get("/api/v1/lists", headers=alice.auth))
            assert [entry["title"] for entry in listed] == ["Friends", "Work"]  # oldest first
            shown = await ok(await client.get(f"/api/v1/lists/{created['id']}", headers=alice.auth))
            assert shown == created
            body = {"title": "Close friends", "replies_policy": "followed"}
            changed = await ok(await client.put(f"/api/v1/lists/{created['id']}", json=body, headers=alice.auth))
            assert (changed["id"], changed["title"], changed["replies_policy"]) == (
                created["id"],
                "Close friends",
                "followed",
            )
            # Another account's list does not exist for the caller.
            assert await error(await client.get(f"/api/v1/lists/{created['id']}", headers=bob.auth), 404)
            assert await error(await client.delete(f"/api/v1/lists/{created['id']}", headers=bob.auth), 404)
            assert await ok(await client.delete(f"/api/v1/lists/{created['id']}", headers=alice.auth)) == {}
            assert await error(await client.get(f"/api/v1/lists/{created['id']}", headers=alice.auth), 404)
            assert [e["title"] for e in await ok(await client.get("/api/v1/lists", headers=alice.auth))] == ["Work"]

    asyncio.run(scenario())


def test_a_retried_create_makes_one_list(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            headers = {**alice.auth, "Idempotency-Key": "create-once"}
            first = await ok(await client.post("/api/v1/lists", json={"title": "Once"}, headers=headers))
            again = await ok(await client.post("/api/v1/lists", json={"title": "Once"}, headers=headers))
            assert again["id"] == first["id"]
            assert len(await ok(await client.get("/api/v1/lists", headers=alice.auth))) == 1

    asyncio.run(scenario())


def test_members_must_be_followed_and_page_with_links(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, *others = await sign_up(client, "alice", "bob", "carol", "dave")
            [bob, carol, dave] = others
            list_id = (await ok(await client.post("/api/v1/lists", json={"title": "L"}, headers=alice.auth)))["id"]
            members = f"/api/v1/lists/{list_id}/accounts"
            refused = await client.post(members, json={"account_ids": [bob.id]}, headers=alice.auth)
            assert await error(refused, 422) == "You must follow @bob before adding this account to a list."
            for other in others:
                await ok(await client.post(f"/api/v1/accounts/{other.id}/follow", headers=alice.auth))
            form = {"account_ids[]": [bob.id, carol.id, dave.id]}
            assert await ok(await client.post(members, data=form, headers=alice.auth)) == {}
            newest_first = sorted((u.id for u in others), key=int, reverse=True)
            first = await client.get(f"{members}?limit=2", headers=alice.auth)
            assert [a["id"] for a in await ok(first)] == newest_first[:2]
            next_url = first.links["next"]["url"].path_qs
            second = await ok(await client.get(next_url, headers=alice.auth))
            assert [a["id"] for a in second] == newest_first[2:]
            above = await ok(await client.get(f"{members}?min_id={newest_first[2]}", headers=alice.auth))
            assert [a["id"] for a in above] == newest_first[:2]
            everyone = await client.get(f"{members}?limit=0", headers=alice.auth)
            assert [a["id"] for a in await ok(everyone)] == newest_first and "Link" not in everyone.headers
            in_lists = await ok(await client.get(f"/api/v1/accounts/{carol.id}/lists", headers=alice.auth))
            assert [entry["id"] for entry in in_lists] == [list_id]
            await ok(await client.delete(members, json={"account_ids": [carol.id]}, headers=alice.auth))
            assert await ok(await client.get(f"/api/v1/accounts/{carol.id}/lists", headers=alice.auth)) == []
            await ok(await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.auth))
            left = await ok(await client.get(f"{members}?limit=0", headers=alice.auth))
            assert [a["id"] for a in left] == [dave.id]  # an unfollow drops the member

    asyncio.run(scenario())


def test_list_errors_and_scopes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice, bob] = await sign_up(client, "alice", "bob")
            assert "title" in await error(await client.post("/api/v1/lists", json={}, headers=alice.auth), 422)
            bad_policy = await client.post(
                "/api/v1/lists", json={"title": "x", "replies_policy": "all"}, headers=alice.auth
            )
            assert "replies_policy" in await error(bad_policy, 422)
            list_id = (await ok(await client.post("/api/v1/lists", json={"title": "L"}, headers=alice.auth)))["id"]
            members = f"/api/v1/lists/{list_id}/accounts"
            assert await error(await client.post(members, json={}, headers=alice.auth), 400)
            unknown = await client.post(members, json={"account_ids": ["99999"]}, headers=alice.auth)
            assert await error(unknown, 404) == "Record not found"
            assert await error(await client.get("/api/v1/lists/99999/accounts", headers=alice.auth), 404)
            assert await error(await client.get("/api/v1/accounts/99999/lists", headers=alice.auth), 404)
            assert await error(await client.get("/api/v1/lists"), 401)
            read_only = await app_token(client, await make_app(client), scope="read")
            assert await error(await client.post("/api/v1/lists", json={"title": "x"}, headers=bearer(read_only)), 403)
            assert await error(await client.get("/api/v1/lists", headers=bearer(read_only)), 422)  # no user
            await ok(await client.get(f"/api/v1/lists/{list_id}", headers=alice.auth))
            assert await error(await client.get(f"/api/v1/lists/{list_id}/accounts", headers=bob.auth), 404)

    asyncio.run(scenario())


def test_the_list_timeline_shows_members_statuses_to_the_owner_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            [alice, bob, carol] = await sign_up(client, "alice", "bob", "carol")
            for other in (bob, carol):
                await ok(await client.post(f"/api/v1/accounts/{other.id}/follow", headers=alice.auth))
            created = await ok(await client.post("/api/v1/lists", json={"title": "Bob"}, headers=alice.auth))
            members = f"/api/v1/lists/{created['id']}/accounts"
            await ok(await client.post(members, json={"account_ids": [bob.id]}, headers=alice.auth))
            posted = [
                await ok(await client.post("/api/v1/statuses", json={"status": text}, headers=user.auth))
                for user, text in ((bob, "first from bob"), (carol, "from carol"), (bob, "second from bob"))
            ]
            await cluster.controls.wait_idle()
            timeline = f"/api/v1/timelines/list/{created['id']}"
            page = await ok(await client.get(timeline, headers=alice.auth))
            assert [s["id"] for s in page] == [posted[2]["id"], posted[0]["id"]]  # members only, newest first
            older = await ok(await client.get(f"{timeline}?max_id={posted[2]['id']}", headers=alice.auth))
            assert [s["id"] for s in older] == [posted[0]["id"]]
            newer = await ok(await client.get(f"{timeline}?min_id={posted[0]['id']}", headers=alice.auth))
            assert [s["id"] for s in newer] == [posted[2]["id"]]
            assert await error(await client.get(timeline, headers=bob.auth), 404)  # not bob's list
            assert await error(await client.get("/api/v1/timelines/list/12345", headers=alice.auth), 404)

    asyncio.run(scenario())
