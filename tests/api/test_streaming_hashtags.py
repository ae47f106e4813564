"""Hashtag streams: core extracts a status' tags, the hub routes `hashtag` and `hashtag:local` by them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType

from api.streaming import stream_key
from api.streaming_hub import public_keys
from tests.api.discovery_support import post, with_users
from tests.api.support import bearer

WAIT_S = 10.0


async def frame(ws: ClientWebSocketResponse) -> dict[str, Any]:
    """The next frame of `ws`, decoded (bounded wait)."""
    message = await asyncio.wait_for(ws.receive(), WAIT_S)
    assert message.type is WSMsgType.TEXT, message
    decoded: dict[str, Any] = json.loads(message.data)
    return decoded


async def sse_update(response: Any) -> str:
    """The status id of the next `update` event of an SSE response, skipping comments (bounded wait)."""
    event = ""
    while True:
        line = (await asyncio.wait_for(response.content.readline(), WAIT_S)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "update":
            return str(json.loads(line[6:])["id"])


def test_hashtag_streams_receive_tagged_public_posts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with with_users(tmp_path, "alice", "bob") as (client, _, tokens, _):
            anonymous = await client.ws_connect("/api/v1/streaming?stream=hashtag&tag=Tusk")
            local = await client.ws_connect("/api/v1/streaming", headers=bearer(tokens["bob"]))
            await local.send_json({"type": "subscribe", "stream": "hashtag:local", "tag": "#TUSK"})
            await local.send_json({"type": "subscribe", "stream": "no-such-stream"})  # answered in order:
            assert await frame(local) == {"error": "Unknown stream type", "status": 400}  # subscribed by now
            sse = await client.get("/api/v1/streaming/hashtag/local?tag=tusk")
            assert sse.status == 200

            await post(client, tokens["alice"], "#tusk but only for followers", visibility="private")
            await post(client, tokens["alice"], "#tusk unlisted", visibility="unlisted")
            await post(client, tokens["alice"], "#elsewhere entirely")
            shown = await post(client, tokens["alice"], "Hello #Tusk streams")

            for ws, stream in ((anonymous, ["hashtag", "tusk"]), (local, ["hashtag:local", "tusk"])):
                got = await frame(ws)  # the first frame: nothing untagged, private or unlisted came before
                assert (got["stream"], got["event"]) == (stream, "update")
                status = json.loads(got["payload"])
                assert status["id"] == shown and {"name": "tusk"}.items() <= status["tags"][0].items()
            assert await sse_update(sse) == shown

            await client.delete(f"/api/v1/statuses/{shown}", headers=bearer(tokens["alice"]))
            assert await frame(anonymous) == {"stream": ["hashtag", "tusk"], "event": "delete", "payload": shown}
            await anonymous.close()
            await local.close()
            sse.close()

    asyncio.run(scenario())


def test_a_hashtag_stream_key_compares_tags_as_core_stores_them() -> None:
    assert stream_key("hashtag", None, {"tag": "#Straße"}) == ("hashtag", "strasse")  # casefolded, not lowered
    assert public_keys({"visibility": "public", "local": True, "tags": ["strasse"]})[2:] == [
        ("hashtag", "strasse"),
        ("hashtag:local", "strasse"),
    ]
