"""Notification routes end to end: list, one, dismiss, clear, unread_count, markers, v2 groups, streaming."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from cluster.inprocess import InProcessCluster
from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import User, error, ok, sign_up
from tests.api.support import served

Client = TestClient[Any, Any]


async def favourite(cluster: InProcessCluster, user: User, status: str) -> None:
    """Favourite through core's depot (the API's favourite route belongs to another resource)."""
    record = {"op": "favourite", "account": int(user.id), "status": int(status)}
    await cluster.append("core", "*favourites", record)


async def post(client: Client, user: User, text: str) -> str:
    """Post a public status and return its id."""
    return str((await ok(await client.post("/api/v1/statuses", data={"status": text}, headers=user.auth)))["id"])


async def notifications(client: Client, cluster: InProcessCluster, user: User, query: str = "") -> Any:
    """Wait for the topologies, then GET the user's notifications."""
    await cluster.controls.wait_idle()
    response = await client.get(f"/api/v1/notifications{query}", headers=user.auth)
    assert response.status == 200, await response.text()
    return response


def test_list_show_dismiss_clear_and_unread_count(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            status = await post(client, alice, "hello")
            await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.auth))
            await favourite(cluster, carol, status)
            response = await notifications(client, cluster, alice)
            found = await response.json()
            assert [n["type"] for n in found] == ["favourite", "follow"] or [n["type"] for n in found] == [
                "follow",
                "favourite",
            ]
            for entity in found:
                assert_valid(schemas, "Notification", entity)
            liked = next(n for n in found if n["type"] == "favourite")
            assert (liked["account"]["id"], liked["status"]["id"]) == (carol.id, status)
            assert 'rel="next"' in response.headers["Link"] and "max_id=" in response.headers["Link"]
            only = await (await notifications(client, cluster, alice, "?types[]=follow")).json()
            assert [n["account"]["id"] for n in only] == [bob.id]
            others = await (await notifications(client, cluster, alice, f"?account_id={carol.id}")).json()
            assert [n["type"] for n in others] == ["favourite"]
            one = await ok(await client.get(f"/api/v1/notifications/{liked['id']}", headers=alice.auth))
            assert one == liked
            assert await ok(await client.get("/api/v1/notifications/unread_count", headers=alice.auth)) == {"count": 2}
            await ok(await client.post(f"/api/v1/notifications/{liked['id']}/dismiss", headers=alice.auth))
            missing = await client.get(f"/api/v1/notifications/{liked['id']}", headers=alice.auth)
            assert await error(missing, 404) == "Record not found"
            again = await client.post(f"/api/v1/notifications/{liked['id']}/dismiss", headers=alice.auth)
            assert again.status == 404
            assert await ok(await client.post("/api/v1/notifications/clear", headers=alice.auth)) == {}
            assert await (await notifications(client, cluster, alice)).json() == []
            assert (await client.get("/api/v1/notifications", headers=carol.auth)).status == 200
            assert (await client.get("/api/v1/notifications")).status == 401

    asyncio.run(scenario())


def test_markers_move_the_unread_count(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            for follower in (bob, carol):
                await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=follower.auth))
            newest = (await (await notifications(client, cluster, alice)).json())[0]["id"]
            assert await ok(await client.get("/api/v1/markers", headers=alice.auth)) == {}
            saved = await ok(
                await client.post(
                    "/api/v1/markers", json={"notifications": {"last_read_id": newest}}, headers=alice.auth
                )
            )
            assert_valid(schemas, "Marker", saved["notifications"])
            assert (saved["notifications"]["last_read_id"], saved["notifications"]["version"]) == (newest, 0)
            assert await ok(await client.get("/api/v1/notifications/unread_count", headers=alice.auth)) == {"count": 0}
            form = {"home[last_read_id]": "12345", "notifications[last_read_id]": "1"}
            both = await ok(await client.post("/api/v1/markers", data=form, headers=alice.auth))
            assert both["notifications"]["version"] == 1 and both["home"]["last_read_id"] == "12345"
            shown = await ok(await client.get("/api/v1/markers?timeline[]=home", headers=alice.auth))
            assert list(shown) == ["home"]
            assert await ok(await client.get("/api/v1/notifications/unread_count", headers=alice.auth)) == {"count": 2}
            bad = await client.post("/api/v1/markers", data={"home[last_read_id]": "x"}, headers=alice.auth)
            assert bad.status == 422

    asyncio.run(scenario())


def test_grouped_notifications_v2(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, carol, dave = await sign_up(client, "alice", "bob", "carol", "dave")
            status = await post(client, alice, "group these")
            for fan in (bob, carol, dave):
                await favourite(cluster, fan, status)
            await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.auth))
            await cluster.controls.wait_idle()
            body = await ok(await client.get("/api/v2/notifications", headers=alice.auth))
            assert_valid(schemas, "GroupedNotificationsResults", body)
            groups = {g["type"]: g for g in body["notification_groups"]}
            assert set(groups) == {"favourite", "follow"}
            assert groups["favourite"]["notifications_count"] == 3 and groups["favourite"]["status_id"] == status
            assert sorted(groups["favourite"]["sample_account_ids"]) == sorted([bob.id, carol.id, dave.id])
            assert {a["id"] for a in body["accounts"]} == {bob.id, carol.id, dave.id}
            assert [s["id"] for s in body["statuses"]] == [status]
            flat = await ok(await client.get("/api/v2/notifications?grouped_types[]=follow", headers=alice.auth))
            assert sorted(g["type"] for g in flat["notification_groups"]) == ["favourite"] * 3 + ["follow"]

    asyncio.run(scenario())


def test_a_notification_streams_to_the_recipient(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            ws = await client.ws_connect("/api/v1/streaming?stream=user:notification", headers=alice.auth)
            await ws.send_json({"type": "subscribe", "stream": "no-such-stream"})  # a round trip: subscribed
            assert (await asyncio.wait_for(ws.receive_json(), 10))["status"] == 400
            await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.auth))
            message = await asyncio.wait_for(ws.receive_json(), 10)
            assert (message["stream"], message["event"]) == (["user:notification"], "notification")
            notification = json.loads(message["payload"])
            assert (notification["type"], notification["account"]["id"]) == ("follow", bob.id)
            [listed] = await (await notifications(client, cluster, alice)).json()
            assert listed == notification
            await ws.close()

    asyncio.run(scenario())


def test_notifications_of_a_deleted_status_are_left_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            status = await post(client, alice, "soon gone")
            await favourite(cluster, bob, status)
            await ok(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.auth))
            found = await (await notifications(client, cluster, alice)).json()
            liked = next(n for n in found if n["type"] == "favourite")
            await ok(await client.delete(f"/api/v1/statuses/{status}", headers=alice.auth))
            left = await (await notifications(client, cluster, alice)).json()
            assert [n["type"] for n in left] == ["follow"]  # Mastodon deletes them with the status
            await error(await client.get(f"/api/v1/notifications/{liked['id']}", headers=alice.auth), 404)
            groups = (await ok(await client.get("/api/v2/notifications", headers=alice.auth)))["notification_groups"]
            assert [g["type"] for g in groups] == ["follow"]

    asyncio.run(scenario())
