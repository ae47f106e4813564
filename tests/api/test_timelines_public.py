"""Public and hashtag timelines over a real server and a real cluster launched as `tusk run` launches it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.discovery_support import get_json, ids_at, links, newest_first, post, with_users
from tests.api.openapi import assert_valid, load_schemas
from tests.api.support import CHEAP, app_token, bearer, make_app


def test_public_timeline_pages_public_statuses_without_a_token(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with with_users(tmp_path, "alice", "bob") as (client, cluster, tokens, _):
            alice, bob = tokens["alice"], tokens["bob"]
            shown = [await post(client, alice, "one")]
            await post(client, alice, "not listed", visibility="unlisted")
            await post(client, bob, "followers only", visibility="private")
            await post(client, bob, "a reply to alice", in_reply_to_id=shown[0])  # Mastodon leaves these out
            shown.append(await post(client, alice, "a thread of my own", in_reply_to_id=shown[0]))
            shown += [await post(client, bob, f"bob {n}") for n in range(3)]
            await cluster.controls.wait_idle()
            newest = newest_first(*shown)

            page = await client.get("/api/v1/timelines/public?limit=2")
            body = await page.json()
            assert [s["id"] for s in body] == newest[:2]
            for status in body:
                assert_valid(schemas, "Status", status)
            rel = links(page.headers["Link"])
            assert rel["next"] == f"/api/v1/timelines/public?limit=2&max_id={newest[1]}"
            assert rel["prev"] == f"/api/v1/timelines/public?limit=2&min_id={newest[0]}"
            assert await ids_at(client, rel["next"]) == newest[2:4]
            assert await ids_at(client, f"/api/v1/timelines/public?min_id={newest[4]}&limit=2") == newest[2:4]
            assert await ids_at(client, f"/api/v1/timelines/public?since_id={newest[2]}") == newest[:2]
            assert await ids_at(client, "/api/v1/timelines/public?local=true", bob) == newest
            assert await ids_at(client, "/api/v1/timelines/public?remote=1") == []  # no federation yet
            assert await ids_at(client, "/api/v1/timelines/public?local=true&remote=true") == newest
            assert await ids_at(client, "/api/v1/timelines/public?only_media=true") == []  # no media yet

            deleted = await client.delete(f"/api/v1/statuses/{newest[0]}", headers=bearer(bob))
            assert deleted.status == 200
            await cluster.controls.wait_idle()
            assert await ids_at(client, "/api/v1/timelines/public") == newest[1:]

    asyncio.run(scenario())


def test_public_timeline_hides_blocked_and_muted_authors_and_checks_the_token(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with with_users(tmp_path, "alice", "bob", "carol") as (client, cluster, tokens, ids):
            by_alice = [await post(client, tokens["alice"], f"alice {n}") for n in range(3)]
            by_bob = await post(client, tokens["bob"], "bob speaks")
            carol = int(ids["carol"])
            await cluster.append(
                "relationships", "*blocks", {"op": "block", "blocker": int(ids["bob"]), "blocked": carol}
            )
            await cluster.append("relationships", "*mutes", {"op": "mute", "muter": carol, "muted": int(ids["alice"])})
            await cluster.controls.wait_idle()
            everyone = newest_first(by_bob, *by_alice)
            assert await ids_at(client, "/api/v1/timelines/public") == everyone
            assert await ids_at(client, "/api/v1/timelines/public", tokens["alice"]) == everyone
            # bob blocks carol and carol mutes alice: carol sees nothing, even reading on past a page
            assert await ids_at(client, "/api/v1/timelines/public?limit=1", tokens["carol"]) == []

            write_only = await app_token(client, await make_app(client, "write"), scope="write")
            assert await get_json(client, "/api/v1/timelines/public", write_only, status=403) == {
                "error": "This action is outside the authorized scopes"
            }
            await get_json(client, "/api/v1/timelines/public", "not-a-token", status=401)
            await get_json(client, "/api/v1/timelines/public?max_id=abc", status=422)
            await get_json(client, "/api/v1/timelines/tag/tusk", write_only, status=403)

    asyncio.run(scenario())


def test_tag_timeline_takes_any_all_and_none(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with with_users(tmp_path, "alice", "bob") as (client, cluster, tokens, _):
            alice, bob = tokens["alice"], tokens["bob"]
            cats = await post(client, alice, "#Cats are great")
            both = await post(client, bob, "#cats and #dogs")
            dogs = await post(client, alice, "only #dogs")
            birds = await post(client, bob, "#birds #cats")
            await post(client, alice, "#cats unlisted", visibility="unlisted")  # hashtag timelines: public only
            await post(client, bob, "no tags at all")
            await cluster.controls.wait_idle()

            cat_ids = newest_first(birds, both, cats)
            body = await get_json(client, "/api/v1/timelines/tag/CATS")
            assert [s["id"] for s in body] == cat_ids
            for status in body:
                assert_valid(schemas, "Status", status)
            tagged = {s["id"]: s["tags"] for s in body}
            assert tagged[birds] == [
                {"name": "birds", "url": f"{CHEAP.base_url}/tags/birds"},
                {"name": "cats", "url": f"{CHEAP.base_url}/tags/cats"},
            ]
            assert await ids_at(client, "/api/v1/timelines/tag/cats?any[]=dogs") == newest_first(
                birds, dogs, both, cats
            )
            assert await ids_at(client, "/api/v1/timelines/tag/cats?all[]=dogs") == [both]
            assert await ids_at(client, "/api/v1/timelines/tag/cats?none[]=dogs&none[]=birds") == [cats]
            assert await ids_at(client, "/api/v1/timelines/tag/cats?any[]=dogs&none[]=cats") == [dogs]
            assert await ids_at(client, "/api/v1/timelines/tag/%23cats?local=true", alice) == cat_ids
            assert await ids_at(client, "/api/v1/timelines/tag/cats?remote=true") == []
            assert await ids_at(client, "/api/v1/timelines/tag/nobody") == []

            page = await client.get("/api/v1/timelines/tag/cats?limit=1&none[]=birds")
            without_birds = newest_first(both, cats)
            assert [s["id"] for s in await page.json()] == without_birds[:1]
            rel = links(page.headers["Link"])
            assert "none" in rel["next"]  # the other parameters are kept
            assert await ids_at(client, rel["next"]) == without_birds[1:]
            lowest = cat_ids[-1]
            assert await ids_at(client, f"/api/v1/timelines/tag/cats?min_id={lowest}&limit=1") == cat_ids[1:2]
            since = f"/api/v1/timelines/tag/cats?since_id={lowest}&none[]=birds"
            assert await ids_at(client, since) == [i for i in without_birds if i != lowest]

    asyncio.run(scenario())
