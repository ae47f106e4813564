"""Threads and the lists of statuses end to end: context, favourites, bookmarks, conversations, profile filters."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from yarl import URL

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import User, error, ok, sign_up
from tests.api.support import served


async def post(client: Any, user: User, text: str, **fields: Any) -> dict[str, Any]:
    """Post `text` as `user` and return the Status."""
    status: dict[str, Any] = await ok(
        await client.post("/api/v1/statuses", json={"status": text, **fields}, headers=user.auth)
    )
    return status


def test_context_is_the_thread_the_viewer_may_see(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob = await sign_up(client, "alice", "bob")
            root = await post(client, alice, "root")
            middle = await post(client, bob, "middle", in_reply_to_id=root["id"])
            leaf = await post(client, alice, "leaf", in_reply_to_id=middle["id"])
            private = await post(client, alice, "followers only", in_reply_to_id=middle["id"], visibility="private")
            found = await ok(await client.get(f"/api/v1/statuses/{middle['id']}/context", headers=bob.auth))
            assert_valid(schemas, "Context", found)
            assert [s["id"] for s in found["ancestors"]] == [root["id"]]
            assert [s["id"] for s in found["descendants"]] == [leaf["id"]]  # bob does not follow alice
            mine = await ok(await client.get(f"/api/v1/statuses/{root['id']}/context", headers=alice.auth))
            assert [s["id"] for s in mine["descendants"]] == [middle["id"], leaf["id"], private["id"]]
            await error(await client.get(f"/api/v1/statuses/{private['id']}/context"), 404)

    asyncio.run(scenario())


def test_favourites_and_bookmarks_page_by_when_they_were_saved(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            first, second = await post(client, alice, "one"), await post(client, alice, "two")
            for status in (second, first):  # saved in the other order than written
                cluster.clock.advance(1_000)
                await ok(await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob.auth))
                await ok(await client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=bob.auth))
            for route in ("/api/v1/favourites", "/api/v1/bookmarks"):
                page = await client.get(f"{route}?limit=1", headers=bob.auth)
                assert [s["id"] for s in await ok(page)] == [first["id"]]
                older = URL(page.headers["Link"].split(";")[0].strip("<>")).path_qs
                assert [s["id"] for s in await ok(await client.get(older, headers=bob.auth))] == [second["id"]]
                assert await ok(await client.get(route, headers=alice.auth)) == []
            await error(await client.get("/api/v1/bookmarks"), 401)

    asyncio.run(scenario())


def test_direct_conversations_read_and_remove(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            dm = await post(client, alice, "psst @bob", visibility="direct")
            await cluster.controls.wait_idle()
            listed = await ok(await client.get("/api/v1/conversations", headers=bob.auth))
            assert len(listed) == 1
            assert_valid(schemas, "Conversation", listed[0])
            conversation = listed[0]
            assert (conversation["unread"], conversation["last_status"]["id"]) == (True, dm["id"])
            assert [a["username"] for a in conversation["accounts"]] == ["alice"]
            path = f"/api/v1/conversations/{conversation['id']}"
            assert (await ok(await client.post(f"{path}/read", headers=bob.auth)))["unread"] is False
            assert await ok(await client.delete(path, headers=bob.auth)) == {}
            assert await ok(await client.get("/api/v1/conversations", headers=bob.auth)) == []
            await error(await client.post(f"{path}/read", headers=bob.auth), 404)
            assert len(await ok(await client.get("/api/v1/conversations", headers=alice.auth))) == 1

    asyncio.run(scenario())


def test_profile_statuses_filters(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            theirs = await post(client, bob, "bob's")
            plain = await post(client, alice, "plain #news")
            thread = await post(client, alice, "more", in_reply_to_id=plain["id"])
            reply = await post(client, alice, "to bob", in_reply_to_id=theirs["id"])
            # Ids are time-ordered to the millisecond; within one ms, statuses and boosts (two id sources,
            # `modules/ids.py`) do not interleave in append order. The clock is frozen here: move it on.
            cluster.clock.advance(1)
            boost = await ok(await client.post(f"/api/v1/statuses/{theirs['id']}/reblog", headers=alice.auth))
            cluster.clock.advance(1)
            private = await post(client, alice, "followers", visibility="private")
            base = f"/api/v1/accounts/{alice.id}/statuses"

            async def ids(query: str, user: User | None = None) -> list[str]:
                found = await ok(await client.get(f"{base}?{query}", headers=user.auth if user else {}))
                return [s["id"] for s in found]

            assert await ids("") == [boost["id"], reply["id"], thread["id"], plain["id"]]
            assert await ids("exclude_replies=true") == [boost["id"], thread["id"], plain["id"]]
            assert await ids("exclude_reblogs=true&limit=2") == [reply["id"], thread["id"]]
            assert await ids("tagged=News") == [plain["id"]]
            assert await ids(f"min_id={thread['id']}&limit=1") == [reply["id"]]
            assert await ids("limit=1", alice) == [private["id"]]

    asyncio.run(scenario())
