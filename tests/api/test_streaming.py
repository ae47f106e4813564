"""Streaming end to end: a real server over a real cluster, aiohttp's WebSocket client and raw SSE reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientWebSocketResponse, WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.streaming import HEARTBEAT_S, HUB
from api.streaming_connections import Connection, Message
from cluster.inprocess import InProcessCluster
from cluster.serve import launch
from cluster.testing import FakeClock
from tests.api.support import CHEAP, app_token, bearer, make_app, signup

WAIT_S = 10.0
Client = TestClient[Any, Any]


@asynccontextmanager
async def streaming(path: Path) -> AsyncIterator[tuple[Client, InProcessCluster, dict[str, str]]]:
    """Yield an HTTP client (SSE heartbeats every 50 ms), the cluster, and tokens of alice, bob and carol."""
    async with InProcessCluster(path, store="memory", clock=FakeClock()) as cluster:
        await launch(cluster)
        app = build_app(cluster, CHEAP)
        app[HEARTBEAT_S] = 0.05
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            token = await app_token(client, await make_app(client))
            tokens = {name: await signup(client, token, name) for name in ("alice", "bob", "carol")}
            yield client, cluster, tokens


async def account_id(client: Client, name: str) -> str:
    found = await (await client.get(f"/api/v1/accounts/lookup?acct={name}")).json()
    return str(found["id"])


async def post(client: Client, token: str, text: str, visibility: str = "public") -> str:
    response = await client.post(
        "/api/v1/statuses", data={"status": text, "visibility": visibility}, headers=bearer(token)
    )
    assert response.status == 200, await response.text()
    return str((await response.json())["id"])


async def frame(ws: ClientWebSocketResponse) -> dict[str, Any]:
    """The next frame of `ws`, decoded (bounded wait)."""
    message = await asyncio.wait_for(ws.receive(), WAIT_S)
    assert message.type is WSMsgType.TEXT, message
    decoded: dict[str, Any] = json.loads(message.data)
    return decoded


async def synced(ws: ClientWebSocketResponse) -> None:
    """Return once the server has applied every frame sent before (it answers a bad one in order)."""
    await ws.send_json({"type": "subscribe", "stream": "no-such-stream"})
    assert await frame(ws) == {"error": "Unknown stream type", "status": 400}


async def sse_event(response: ClientResponse) -> tuple[str, str]:
    """The next `event:` / `data:` pair of an SSE response, skipping comments (bounded wait)."""
    event = ""
    while True:
        line = (await asyncio.wait_for(response.content.readline(), WAIT_S)).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            return event, line[6:]


def test_a_follower_gets_updates_and_deletes_over_websocket_and_sse(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, tokens):
            alice = await account_id(client, "alice")
            await client.post(f"/api/v1/accounts/{alice}/follow", headers=bearer(tokens["bob"]))
            ws = await client.ws_connect("/api/v1/streaming?stream=user", headers=bearer(tokens["bob"]))
            sse = await client.get(f"/api/v1/streaming/user?access_token={tokens['bob']}")
            assert sse.status == 200 and sse.headers["Content-Type"] == "text/event-stream"
            status_id = await post(client, tokens["alice"], "hello, followers")

            update = await frame(ws)
            assert (update["stream"], update["event"]) == (["user"], "update")
            status = json.loads(update["payload"])
            assert (status["id"], status["account"]["id"]) == (status_id, alice)
            assert status["content"] == "<p>hello, followers</p>"
            event, data = await sse_event(sse)
            assert event == "update" and json.loads(data) == status

            deleted = await client.delete(f"/api/v1/statuses/{status_id}", headers=bearer(tokens["alice"]))
            assert deleted.status == 200
            assert await frame(ws) == {"stream": ["user"], "event": "delete", "payload": status_id}
            assert await sse_event(sse) == ("delete", status_id)
            await ws.close()
            sse.close()

    asyncio.run(scenario())


def test_public_streams_get_public_statuses_only_and_need_no_token(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, tokens):
            public = await client.ws_connect("/api/v1/streaming?stream=public")
            local = await client.ws_connect("/api/v1/streaming", headers=bearer(tokens["carol"]))
            await local.send_json({"type": "subscribe", "stream": "public:local"})
            await synced(local)
            sse = await client.get("/api/v1/streaming/public/local")
            await post(client, tokens["alice"], "only for followers", visibility="private")
            await post(client, tokens["alice"], "not listed", visibility="unlisted")
            shown = await post(client, tokens["alice"], "for everyone")
            for ws, name in ((public, "public"), (local, "public:local")):
                got = await frame(ws)  # the first frame: the private and unlisted ones never came
                assert (got["stream"], got["event"], json.loads(got["payload"])["id"]) == ([name], "update", shown)
            event, data = await sse_event(sse)
            assert (event, json.loads(data)["id"]) == ("update", shown)
            await client.delete(f"/api/v1/statuses/{shown}", headers=bearer(tokens["alice"]))
            assert await frame(public) == {"stream": ["public"], "event": "delete", "payload": shown}
            sse.close()

    asyncio.run(scenario())


def test_one_socket_multiplexes_subscribe_and_unsubscribe(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, tokens):
            ws = await client.ws_connect("/api/v1/streaming", headers=bearer(tokens["alice"]))
            await ws.send_json({"type": "subscribe", "stream": "user"})
            await ws.send_json({"type": "subscribe", "stream": "public"})
            await ws.send_json({"type": "subscribe", "stream": "hashtag", "tag": "#Tusk"})  # no tags yet: silent
            await synced(ws)
            first = await post(client, tokens["alice"], "one")
            got = [await frame(ws), await frame(ws)]
            assert sorted(g["stream"][0] for g in got) == ["public", "user"]
            assert {json.loads(g["payload"])["id"] for g in got} == {first}

            await ws.send_json({"type": "unsubscribe", "stream": "public"})
            await synced(ws)
            second = await post(client, tokens["alice"], "two")
            third = await post(client, tokens["alice"], "three")
            later = [await frame(ws), await frame(ws)]
            assert [(g["stream"], json.loads(g["payload"])["id"]) for g in later] == [
                (["user"], second),
                (["user"], third),
            ]
            await ws.send_str("not json")
            assert await frame(ws) == {"error": "Invalid JSON", "status": 400}
            await ws.send_json({"type": "subscribe", "stream": "hashtag"})
            assert await frame(ws) == {"error": "No tag for stream provided", "status": 400}
            await ws.close()

    asyncio.run(scenario())


def test_a_token_in_the_protocol_header_is_echoed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, tokens):
            ws = await client.ws_connect("/api/v1/streaming?stream=user", protocols=(tokens["bob"],))
            assert ws.protocol == tokens["bob"]
            status_id = await post(client, tokens["bob"], "my own")
            got = await frame(ws)
            assert (got["stream"], json.loads(got["payload"])["id"]) == (["user"], status_id)
            await ws.close()

    asyncio.run(scenario())


def test_bad_tokens_scopes_and_streams_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, _):
            for url, headers in (
                ("/api/v1/streaming?stream=user", bearer("nope")),
                ("/api/v1/streaming?stream=public&access_token=nope", {}),
                ("/api/v1/streaming?stream=user", {"Sec-WebSocket-Protocol": "nope"}),
                ("/api/v1/streaming?stream=user", {}),  # a user stream needs a token
            ):
                with pytest.raises(WSServerHandshakeError) as refused:
                    await client.ws_connect(url, headers=headers)
                assert refused.value.status == 401
            with pytest.raises(WSServerHandshakeError) as unknown:
                await client.ws_connect("/api/v1/streaming?stream=everything")
            assert unknown.value.status == 400
            response = await client.get("/api/v1/streaming/user", headers=bearer("nope"))
            assert response.status == 401 and await response.json() == {"error": "Invalid access token"}
            write_only = await app_token(client, await make_app(client, "write"), scope="write")
            response = await client.get("/api/v1/streaming/public", headers=bearer(write_only))
            assert response.status == 403
            response = await client.get("/api/v1/streaming/hashtag")
            assert response.status == 400
            health = await client.get("/api/v1/streaming/health")
            assert health.status == 200 and await health.text() == "OK"

    asyncio.run(scenario())


def test_sse_heartbeats_and_blocked_authors_are_filtered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, cluster, tokens):
            alice, carol = [int(await account_id(client, name)) for name in ("alice", "carol")]
            await cluster.append("relationships", "*blocks", {"op": "block", "blocker": carol, "blocked": alice})
            sse = await client.get("/api/v1/streaming/public", headers=bearer(tokens["carol"]))
            assert await asyncio.wait_for(sse.content.readline(), WAIT_S) == b":)\n"
            assert await asyncio.wait_for(sse.content.readline(), WAIT_S) == b":thump\n"
            await post(client, tokens["alice"], "blocked")
            shown = await post(client, tokens["bob"], "not blocked")
            event, data = await sse_event(sse)  # alice's came first, and was held back
            assert (event, json.loads(data)["id"]) == ("update", shown)
            sse.close()

    asyncio.run(scenario())


def test_a_client_that_falls_behind_is_disconnected_and_counted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, _, _):
            assert client.app is not None
            hub = client.app[HUB]
            slow = Connection(account=None, max_pending=2)
            hub.join(slow, ("public",))
            for _ in range(3):
                hub.send(slow, Message(["public"], "update", "{}"))
            assert slow.closed and slow.overflowed and hub.slow_disconnects == 1
            assert ("public",) not in hub.streams
            assert await slow.next() is None

    asyncio.run(scenario())


def test_a_list_stream_gets_its_members_statuses_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with streaming(tmp_path) as (client, cluster, tokens):
            alice = bearer(tokens["alice"])
            bob, carol = await account_id(client, "bob"), await account_id(client, "carol")
            for other in (bob, carol):
                assert (await client.post(f"/api/v1/accounts/{other}/follow", headers=alice)).status == 200
            created = await (await client.post("/api/v1/lists", json={"title": "Bob"}, headers=alice)).json()
            members = f"/api/v1/lists/{created['id']}/accounts"
            assert (await client.post(members, json={"account_ids": [bob]}, headers=alice)).status == 200
            url = f"/api/v1/streaming?stream=list&list={created['id']}&access_token={tokens['alice']}"
            async with client.ws_connect(url) as ws:
                await synced(ws)
                first = await post(client, tokens["bob"], "for the list")
                await post(client, tokens["carol"], "not a member")
                second = await post(client, tokens["bob"], "again for the list")
                await cluster.controls.wait_idle()
                for expected in (first, second):  # carol's status, posted in between, never arrives
                    got = await frame(ws)
                    assert (got["stream"], got["event"]) == (["list", created["id"]], "update")
                    assert json.loads(got["payload"])["id"] == expected

    asyncio.run(scenario())
