"""Polls and scheduled statuses end to end: create, show, vote with Mastodon's errors, schedule, move, cancel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import served


def test_poll_create_show_and_votes(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            form = {"status": "pick", "poll[options][]": ["a", "b", "c"], "poll[expires_in]": "3600"}
            posted = await ok(await client.post("/api/v1/statuses", data=form, headers=alice.auth))
            poll = posted["poll"]
            assert_valid(schemas, "Poll", poll)
            assert (poll["id"], poll["multiple"], poll["expired"], poll["voted"]) == (posted["id"], False, False, False)
            assert [o["votes_count"] for o in poll["options"]] == [0, 0, 0]
            votes = f"/api/v1/polls/{poll['id']}/votes"
            await error(await client.post(votes, json={"choices": ["7"]}, headers=bob.auth), 422)
            two = await error(await client.post(votes, json={"choices": ["0", "1"]}, headers=bob.auth), 422)
            assert two == "Validation failed: You have already voted on this poll"
            keyed = {**bob.auth, "Idempotency-Key": "vote-once"}
            voted = await ok(await client.post(votes, json={"choices": ["1"]}, headers=keyed))
            assert_valid(schemas, "Poll", voted)
            assert (voted["voted"], voted["own_votes"], voted["votes_count"]) == (True, [1], 1)
            retried = await ok(await client.post(votes, json={"choices": ["1"]}, headers=keyed))
            assert (retried["own_votes"], retried["votes_count"]) == ([1], 1)  # the same request: counted once
            again = await error(await client.post(votes, json={"choices": ["1"]}, headers=bob.auth), 422)
            assert again == "Validation failed: You have already voted on this poll"
            anonymous = await ok(await client.get(f"/api/v1/polls/{poll['id']}"))
            assert "voted" not in anonymous and [o["votes_count"] for o in anonymous["options"]] == [0, 1, 0]
            cluster.clock.advance(3_600_000)
            ended = await ok(await client.get(f"/api/v1/polls/{poll['id']}", headers=alice.auth))
            assert ended["expired"] is True
            late = await error(await client.post(votes, json={"choices": ["0"]}, headers=alice.auth), 422)
            assert late == "Validation failed: The poll has already ended"
            hidden = {"status": "?", "poll": {"options": ["x", "y"], "expires_in": 600, "hide_totals": True}}
            secret = await ok(await client.post("/api/v1/statuses", json=hidden, headers=alice.auth))
            assert [o["votes_count"] for o in secret["poll"]["options"]] == [None, None]  # its author's view too
            shown = await ok(await client.get(f"/api/v1/polls/{secret['id']}", headers=bob.auth))
            assert [o["votes_count"] for o in shown["options"]] == [None, None]
            await error(await client.get("/api/v1/polls/987654"), 404)

    asyncio.run(scenario())


def test_scheduled_statuses_list_move_cancel_and_publish(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            (alice,) = await sign_up(client, "alice")
            now = cluster.clock.now_ms()

            def at(minutes: int) -> str:
                return datetime.fromtimestamp(now / 1000 + minutes * 60, UTC).isoformat()

            soon = {"status": "too soon", "scheduled_at": at(2)}
            await error(await client.post("/api/v1/statuses", json=soon, headers=alice.auth), 422)
            bad = await error(
                await client.post(
                    "/api/v1/statuses", json={"status": "x", "scheduled_at": "banana"}, headers=alice.auth
                ),
                422,
            )
            assert bad == "Record invalid"
            later = await ok(
                await client.post(
                    "/api/v1/statuses", json={"status": "later", "scheduled_at": at(10)}, headers=alice.auth
                )
            )
            assert_valid(schemas, "ScheduledStatus", later)
            assert later["params"]["text"] == "later" and later["params"]["visibility"] == "public"
            other = {"status": "cancel me", "scheduled_at": at(20)}
            cancelled = await ok(await client.post("/api/v1/statuses", json=other, headers=alice.auth))
            listed = await ok(await client.get("/api/v1/scheduled_statuses", headers=alice.auth))
            assert [s["id"] for s in listed] == [cancelled["id"], later["id"]]
            path = f"/api/v1/scheduled_statuses/{later['id']}"
            moved = await ok(await client.put(path, json={"scheduled_at": at(30)}, headers=alice.auth))
            assert moved["scheduled_at"] != later["scheduled_at"]
            await ok(await client.delete(f"/api/v1/scheduled_statuses/{cancelled['id']}", headers=alice.auth))
            await error(await client.get(f"/api/v1/scheduled_statuses/{cancelled['id']}", headers=alice.auth), 404)
            cluster.clock.advance(31 * 60_000)
            await cluster.controls.wait_idle()
            await error(await client.get(path, headers=alice.auth), 404)
            profile = await ok(await client.get(f"/api/v1/accounts/{alice.id}/statuses"))
            assert [s["content"] for s in profile] == ["<p>later</p>"]

    asyncio.run(scenario())
