"""Relationship routes end to end: follow options, every Relationship flag, blocks, mutes, notes, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import app_token, bearer, make_app, served


def test_follow_with_options_notes_and_the_relationships_read(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            form = {"reblogs": "false", "notify": "true", "languages[]": ["fr", "en"]}
            followed = await ok(await client.post(f"/api/v1/accounts/{bob.id}/follow", data=form, headers=alice.auth))
            assert_valid(schemas, "Relationship", followed)
            assert (followed["id"], followed["following"], followed["requested"]) == (bob.id, True, False)
            assert (followed["showing_reblogs"], followed["notifying"], followed["languages"]) == (
                False,
                True,
                ["en", "fr"],
            )
            again = await client.post(f"/api/v1/accounts/{bob.id}/follow", json={"reblogs": True}, headers=alice.auth)
            assert (await ok(again))["showing_reblogs"] is True and (await again.json())["notifying"] is True
            noted = await client.post(
                f"/api/v1/accounts/{bob.id}/note", json={"comment": "met at a conf"}, headers=alice.auth
            )
            assert (await ok(noted))["note"] == "met at a conf"
            query = f"/api/v1/accounts/relationships?id[]={bob.id}&id[]=99999&id[]={carol.id}"
            found = await ok(await client.get(query, headers=alice.auth))
            assert [r["id"] for r in found] == [bob.id, carol.id]  # the unknown id is left out, as Mastodon
            assert (found[0]["following"], found[0]["note"], found[1]["following"]) == (True, "met at a conf", False)
            for entity in found:
                assert_valid(schemas, "Relationship", entity)
            back = await ok(await client.get(f"/api/v1/accounts/relationships?id={alice.id}", headers=bob.auth))
            assert back[0]["followed_by"] is True and back[0]["following"] is False
            shown = await ok(await client.get(f"/api/v1/accounts/{bob.id}"))
            assert (shown["followers_count"], shown["following_count"]) == (1, 0)
            cleared = await client.post(f"/api/v1/accounts/{bob.id}/note", headers=alice.auth)
            assert (await ok(cleared))["note"] == ""
            gone = await ok(await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.auth))
            assert (gone["following"], gone["languages"], gone["showing_reblogs"]) == (False, None, False)

    asyncio.run(scenario())


def test_blocks_and_mutes(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            await ok(await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.auth))
            await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.auth))
            blocked = await ok(await client.post(f"/api/v1/accounts/{bob.id}/block", headers=alice.auth))
            assert (blocked["blocking"], blocked["following"], blocked["followed_by"]) == (True, False, False)
            seen = await ok(await client.get(f"/api/v1/accounts/relationships?id[]={alice.id}", headers=bob.auth))
            assert seen[0]["blocked_by"] is True
            refused = await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.auth)
            assert await error(refused, 403) == "This action is not allowed"
            assert [a["id"] for a in await ok(await client.get("/api/v1/blocks", headers=alice.auth))] == [bob.id]
            await ok(await client.post(f"/api/v1/accounts/{bob.id}/unblock", headers=alice.auth))
            assert await ok(await client.get("/api/v1/blocks", headers=alice.auth)) == []

            muted = await client.post(
                f"/api/v1/accounts/{carol.id}/mute", json={"notifications": False, "duration": 3600}, headers=alice.auth
            )
            assert (await ok(muted))["muting"] is True and (await muted.json())["muting_notifications"] is False
            [entry] = await ok(await client.get("/api/v1/mutes", headers=alice.auth))
            assert_valid(schemas, "MutedAccount", entry)
            assert entry["id"] == carol.id and entry["mute_expires_at"] is not None
            cluster.clock.advance(3_601_000)  # the mute expires by the cluster's clock
            assert await ok(await client.get("/api/v1/mutes", headers=alice.auth)) == []
            rel = await ok(await client.get(f"/api/v1/accounts/relationships?id[]={carol.id}", headers=alice.auth))
            assert rel[0]["muting"] is False
            forever = await ok(await client.post(f"/api/v1/accounts/{carol.id}/mute", headers=alice.auth))
            assert (forever["muting"], forever["muting_notifications"]) == (True, True)
            [entry] = await ok(await client.get("/api/v1/mutes", headers=alice.auth))
            assert entry["mute_expires_at"] is None
            unmuted = await ok(await client.post(f"/api/v1/accounts/{carol.id}/unmute", headers=alice.auth))
            assert unmuted["muting"] is False

    asyncio.run(scenario())


def test_remove_from_followers_self_actions_and_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, carol = await sign_up(client, "alice", "carol")
            await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=carol.auth))
            removed = await ok(
                await client.post(f"/api/v1/accounts/{carol.id}/remove_from_followers", headers=alice.auth)
            )
            assert removed["followed_by"] is False
            theirs = await ok(await client.get(f"/api/v1/accounts/relationships?id[]={alice.id}", headers=carol.auth))
            assert theirs[0]["following"] is False
            assert await error(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=alice.auth), 404)
            assert (await ok(await client.post(f"/api/v1/accounts/{alice.id}/unfollow", headers=alice.auth)))[
                "id"
            ] == alice.id
            self_block = await client.post(f"/api/v1/accounts/{alice.id}/block", headers=alice.auth)
            assert "itself" in await error(self_block, 422)
            for path in ("/api/v1/accounts/99999/follow", "/api/v1/accounts/x1/block", "/api/v1/accounts/99999/mute"):
                assert await error(await client.post(path, headers=alice.auth), 404) == "Record not found"
            assert await error(await client.post(f"/api/v1/accounts/{carol.id}/follow"), 401)
            read_only = await app_token(client, await make_app(client), scope="read")
            assert await error(await client.post(f"/api/v1/accounts/{carol.id}/follow", headers=bearer(read_only)), 403)
            app_only = await client.get(f"/api/v1/accounts/relationships?id[]={carol.id}", headers=bearer(read_only))
            assert await error(app_only, 422) == "This method requires an authenticated user"
            too_many = "&".join(f"id[]={n}" for n in range(41))
            assert await error(await client.get(f"/api/v1/accounts/relationships?{too_many}", headers=alice.auth), 422)
            long_note = await client.post(
                f"/api/v1/accounts/{carol.id}/note", json={"comment": "x" * 2001}, headers=alice.auth
            )
            assert await error(long_note, 422)

    asyncio.run(scenario())
