"""POST / PUT / DELETE / GET statuses end to end: every field of the Status, polls, media, mentions, edits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import served


async def upload(cluster: Any, account: str, uuid: str, description: str) -> str:
    """Store media metadata in core as the upload route does; return the media id."""
    record = {"op": "create", "account": int(account), "uuid": uuid, "type": "image", "url": f"http://m/{uuid}.png"}
    result = await cluster.append("core", "*media", {**record, "description": description, "meta": {}})
    return str(result.value)


def test_create_renders_every_field_and_resolves_mentions(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            media_id = await upload(cluster, alice.id, "pic-1", "a cat")
            body = {
                "status": "Hi @bob and @nobody, see #Tusk at https://example.org/x",
                "media_ids": [media_id],
                "spoiler_text": "cw",
                "language": "en",
                "visibility": "unlisted",
            }
            posted = await ok(await client.post("/api/v1/statuses", json=body, headers=alice.auth))
            assert_valid(schemas, "Status", posted)
            assert (posted["spoiler_text"], posted["sensitive"], posted["language"]) == ("cw", True, "en")
            assert posted["visibility"] == "unlisted"
            assert [m["id"] for m in posted["mentions"]] == [bob.id] and posted["mentions"][0]["acct"] == "bob"
            assert posted["tags"] == [{"name": "tusk", "url": "http://127.0.0.1:8080/tags/tusk"}]
            assert [(a["id"], a["description"]) for a in posted["media_attachments"]] == [(media_id, "a cat")]
            html = posted["content"]
            assert 'class="u-url mention">@<span>bob</span>' in html and "@nobody" in html
            assert 'class="mention hashtag" rel="tag">#<span>Tusk</span>' in html
            assert '<a href="https://example.org/x"' in html
            flags = [posted[k] for k in ("favourited", "reblogged", "bookmarked", "pinned", "muted")]
            assert flags == [False] * 5 and posted["poll"] is None and posted["card"] is None
            reply = await ok(
                await client.post(
                    "/api/v1/statuses", data={"status": "@alice yes", "in_reply_to_id": posted["id"]}, headers=bob.auth
                )
            )
            assert (reply["in_reply_to_id"], reply["in_reply_to_account_id"]) == (posted["id"], alice.id)
            shown = await ok(await client.get(f"/api/v1/statuses/{posted['id']}"))
            assert shown["replies_count"] == 1 and shown["favourited"] is False
            both = await ok(await client.get(f"/api/v1/statuses?id[]={reply['id']}&id[]=123&id[]={posted['id']}"))
            assert [s["id"] for s in both] == [reply["id"], posted["id"]]

    asyncio.run(scenario())


def test_create_refusals_and_idempotency(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            for body, status in (
                ({"status": "  "}, 422),
                ({"status": "x", "visibility": "secret"}, 422),
                ({"status": "x", "in_reply_to_id": "999"}, 404),  # Mastodon: in_reply_not_found
                ({"status": "x", "media_ids": ["abc"]}, 422),
                ({"status": "x", "media_ids": ["12345"]}, 422),  # nobody's media
                ({"status": "x", "poll": {"options": ["only one"], "expires_in": 600}}, 422),
                ({"status": "x", "poll": {"options": ["a", "b"], "expires_in": 10}}, 422),
                ({"status": "x" * 501}, 422),
            ):
                await error(await client.post("/api/v1/statuses", json=body, headers=alice.auth), status)
            key = {**alice.auth, "Idempotency-Key": "k" * 100}
            first = await ok(await client.post("/api/v1/statuses", json={"status": "once"}, headers=key))
            again = await ok(await client.post("/api/v1/statuses", json={"status": "once"}, headers=key))
            assert first["id"] == again["id"]
            hidden = {"status": "followers only", "visibility": "private"}
            private = await ok(await client.post("/api/v1/statuses", json=hidden, headers=alice.auth))
            reply = {"status": "can I see it?", "in_reply_to_id": private["id"]}
            refused = await error(await client.post("/api/v1/statuses", json=reply, headers=bob.auth), 404)
            assert refused == "Record not found"  # as for a status that does not exist
            media_id = await upload(cluster, alice.id, "pic-2", "")
            only_media = await ok(
                await client.post("/api/v1/statuses", json={"media_ids": [media_id]}, headers=alice.auth)
            )
            assert only_media["content"] == "" and len(only_media["media_attachments"]) == 1

    asyncio.run(scenario())


def test_edit_history_source_and_delete_for_redraft(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            alice, bob = await sign_up(client, "alice", "bob")
            posted = await ok(await client.post("/api/v1/statuses", json={"status": "first"}, headers=alice.auth))
            path = f"/api/v1/statuses/{posted['id']}"
            await error(await client.put(path, json={"status": "mine now"}, headers=bob.auth), 404)
            edited = await ok(
                await client.put(path, json={"status": "second", "spoiler_text": "cw"}, headers=alice.auth)
            )
            assert_valid(schemas, "Status", edited)
            assert edited["content"] == "<p>second</p>" and edited["edited_at"] is not None
            history = await ok(await client.get(f"{path}/history"))
            for entry in history:
                assert_valid(schemas, "StatusEdit", entry)
            assert [(h["content"], h["spoiler_text"]) for h in history] == [
                ("<p>first</p>", ""),
                ("<p>second</p>", "cw"),
            ]
            source = await ok(await client.get(f"{path}/source", headers=alice.auth))
            assert_valid(schemas, "StatusSource", source)
            assert source == {"id": posted["id"], "text": "second", "spoiler_text": "cw"}
            await error(await client.delete(path, headers=bob.auth), 404)
            deleted = await ok(await client.delete(path, headers=alice.auth))
            assert (deleted["id"], deleted["text"]) == (posted["id"], "second")
            await error(await client.get(path), 404)
            await error(await client.get(f"{path}/history"), 404)

    asyncio.run(scenario())
