"""Streaming of edits (`status.update`) and direct conversations (`conversation`) over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.support import bearer
from tests.api.test_streaming import account_id, frame, post, streaming, synced


def test_an_edit_reaches_followers_and_public_streams_as_status_update(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, tokens):
            alice = await account_id(client, "alice")
            await client.post(f"/api/v1/accounts/{alice}/follow", headers=bearer(tokens["bob"]))
            home = await client.ws_connect("/api/v1/streaming?stream=user", headers=bearer(tokens["bob"]))
            public = await client.ws_connect("/api/v1/streaming?stream=public")
            await public.send_json({"type": "subscribe", "stream": "hashtag", "tag": "Walrus"})
            await synced(public)
            status_id = await post(client, tokens["alice"], "first #walrus draft")
            assert (await frame(home))["event"] == "update"
            assert {(await frame(public))["stream"][0] for _ in range(2)} == {"public", "hashtag"}

            edited = await client.put(
                f"/api/v1/statuses/{status_id}", data={"status": "second #walrus take"}, headers=bearer(tokens["alice"])
            )
            assert edited.status == 200, await edited.text()
            got = await frame(home)
            assert (got["stream"], got["event"]) == (["user"], "status.update")
            status = json.loads(got["payload"])
            assert status["id"] == status_id and "second" in status["content"] and status["edited_at"] is not None
            assert_valid(schemas, "Status", status)
            public_frames = {tuple(f["stream"]): f for f in [await frame(public), await frame(public)]}
            assert set(public_frames) == {("public",), ("hashtag", "walrus")}
            assert all(f["event"] == "status.update" for f in public_frames.values())
            assert json.loads(public_frames[("public",)]["payload"])["content"] == status["content"]

            # A private status's edit goes to followers only: the public stream's next frame is the later post.
            private = await post(client, tokens["alice"], "followers only", visibility="private")
            assert json.loads((await frame(home))["payload"])["id"] == private
            await client.put(
                f"/api/v1/statuses/{private}", data={"status": "still hidden"}, headers=bearer(tokens["alice"])
            )
            assert (await frame(home))["event"] == "status.update"
            shown = await post(client, tokens["alice"], "public again")
            assert json.loads((await frame(public))["payload"])["id"] == shown
            await home.close()
            await public.close()

    asyncio.run(scenario())


def test_a_direct_status_sends_the_conversation_to_each_participant(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, tokens):
            bob = await client.ws_connect("/api/v1/streaming?stream=direct", headers=bearer(tokens["bob"]))
            alice = await client.ws_connect("/api/v1/streaming", headers=bearer(tokens["alice"]))
            await alice.send_json({"type": "subscribe", "stream": "direct"})
            await synced(alice)
            carol = await client.ws_connect("/api/v1/streaming?stream=direct", headers=bearer(tokens["carol"]))
            status_id = await post(client, tokens["alice"], "@bob just between us", visibility="direct")

            got = await frame(bob)
            assert (got["stream"], got["event"]) == (["direct"], "conversation")
            conversation = json.loads(got["payload"])
            assert_valid(schemas, "Conversation", conversation)
            assert conversation["unread"] is True and conversation["last_status"]["id"] == status_id
            assert [a["username"] for a in conversation["accounts"]] == ["alice"]
            own = json.loads((await frame(alice))["payload"])
            assert own["unread"] is False and [a["username"] for a in own["accounts"]] == ["bob"]
            assert own["id"] == conversation["id"]

            await client.delete(f"/api/v1/statuses/{status_id}", headers=bearer(tokens["alice"]))
            later = await post(client, tokens["carol"], "@alice a new thread", visibility="direct")
            # Carol's stream got nothing from the first thread: her first frame is her own new conversation.
            assert json.loads((await frame(carol))["payload"])["last_status"]["id"] == later
            for ws in (alice, bob, carol):
                await ws.close()

    asyncio.run(scenario())
