"""Notification policy and requests end to end: a stranger's direct mention waits in a request, accept, dismiss."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from cluster.inprocess import InProcessCluster
from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import User, error, ok, sign_up
from tests.api.support import served

Client = TestClient[Any, Any]
REQUESTS = "/api/v1/notifications/requests"
POLICY = "/api/v2/notifications/policy"


async def direct(client: Client, sender: User, recipient: str, text: str) -> str:
    """Post a direct status mentioning `recipient` (a username) and return its id."""
    body = {"status": f"@{recipient} {text}", "visibility": "direct"}
    return str((await ok(await client.post("/api/v1/statuses", json=body, headers=sender.auth)))["id"])


async def listed(client: Client, cluster: InProcessCluster, user: User, path: str) -> Any:
    """Wait for the topologies, then GET `path` as `user`."""
    await cluster.controls.wait_idle()
    return await ok(await client.get(path, headers=user.auth))


def test_policy_requests_accept_and_dismiss(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            policy = await listed(client, cluster, alice, POLICY)
            assert_valid(schemas, "NotificationPolicy", policy)
            assert (policy["for_private_mentions"], policy["summary"]["pending_requests_count"]) == ("filter", 0)
            from_bob = await direct(client, bob, "alice", "psst")
            await direct(client, carol, "alice", "hey")
            assert await listed(client, cluster, alice, "/api/v1/notifications") == []
            found = await listed(client, cluster, alice, REQUESTS)
            for request in found:
                assert_valid(schemas, "NotificationRequest", request)
            by_sender = {r["account"]["id"]: r for r in found}
            assert set(by_sender) == {bob.id, carol.id} and by_sender[bob.id]["notifications_count"] == "1"
            assert by_sender[bob.id]["last_status"]["id"] == from_bob
            one = await listed(client, cluster, alice, f"{REQUESTS}/{by_sender[bob.id]['id']}")
            assert one == by_sender[bob.id]
            held = f"/api/v1/notifications/{by_sender[bob.id]['id']}"  # a request's id is its first notification's
            found_held = await listed(client, cluster, alice, held)  # Mastodon finds a filtered one by id
            assert_valid(schemas, "Notification", found_held)
            assert (found_held["type"], found_held["status"]["id"], found_held["filtered"]) == (
                "mention",
                from_bob,
                True,
            )
            await ok(await client.post(f"{REQUESTS}/{by_sender[bob.id]['id']}/accept", headers=alice.auth))
            shown = await listed(client, cluster, alice, "/api/v1/notifications")
            assert [(n["type"], n["status"]["id"]) for n in shown] == [("mention", from_bob)]
            assert "filtered" not in shown[0] and await listed(client, cluster, alice, held) == shown[0]
            body = {"id[]": [by_sender[carol.id]["id"]]}
            await ok(await client.post(f"{REQUESTS}/dismiss", data=body, headers=alice.auth))
            assert await listed(client, cluster, alice, REQUESTS) == []
            await error(await client.post(f"{REQUESTS}/{by_sender[bob.id]['id']}/accept", headers=alice.auth), 404)
            await error(await client.get(f"{REQUESTS}/12345", headers=alice.auth), 404)
            assert await listed(client, cluster, alice, f"{REQUESTS}/merged") == {"merged": True}
            changed = await ok(await client.patch(POLICY, json={"for_not_following": "drop"}, headers=alice.auth))
            assert_valid(schemas, "NotificationPolicy", changed)
            assert changed["for_not_following"] == "drop" and changed["for_private_mentions"] == "filter"
            await error(await client.patch(POLICY, json={"for_new_accounts": "never"}, headers=alice.auth), 422)
            await direct(client, carol, "alice", "dropped")
            assert len(await listed(client, cluster, alice, "/api/v1/notifications")) == 1
            assert await listed(client, cluster, alice, REQUESTS) == []

    asyncio.run(scenario())
