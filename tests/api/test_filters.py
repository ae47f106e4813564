"""Filter routes end to end: v2 filters with keywords and statuses, v1 as Mastodon maps it, the stream event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from api.entities import iso
from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up
from tests.api.support import bearer, served

WAIT_S = 10.0


def test_v2_filter_lifecycle_with_keywords_attributes(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            [alice, bob] = await sign_up(client, "alice", "bob")
            assert await ok(await client.get("/api/v2/filters", headers=alice.auth)) == []
            body = {
                "title": "Spoilers",
                "context": ["thread", "home"],
                "filter_action": "hide",
                "expires_in": 3600,
                "keywords_attributes": [{"keyword": "finale"}, {"keyword": "#tv", "whole_word": False}],
            }
            created = await ok(await client.post("/api/v2/filters", json=body, headers=alice.auth))
            assert_valid(schemas, "Filter", created)
            assert (created["title"], created["context"], created["filter_action"]) == (
                "Spoilers",
                ["home", "thread"],
                "hide",
            )
            assert created["expires_at"] == iso(cluster.clock.now_ms() + 3_600_000)
            assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [("finale", True), ("#tv", False)]
            finale, tv = created["keywords"]
            edits = {
                "title": "Shows",
                "expires_in": "",
                "keywords_attributes": [
                    {"id": finale["id"], "keyword": "season finale"},
                    {"id": tv["id"], "_destroy": True},
                    {"keyword": "cliffhanger"},
                ],
            }
            path = f"/api/v2/filters/{created['id']}"
            updated = await ok(await client.put(path, json=edits, headers=alice.auth))
            assert_valid(schemas, "Filter", updated)
            assert (updated["title"], updated["expires_at"], updated["filter_action"]) == ("Shows", None, "hide")
            assert [k["keyword"] for k in updated["keywords"]] == ["season finale", "cliffhanger"]
            assert await ok(await client.get(path, headers=alice.auth)) == updated
            assert await ok(await client.get("/api/v2/filters", headers=alice.auth)) == [updated]
            assert await error(await client.get(path, headers=bob.auth), 404)
            assert await error(await client.put(path, json={"title": "mine"}, headers=bob.auth), 404)
            assert await ok(await client.delete(path, headers=alice.auth)) == {}
            assert await error(await client.get(path, headers=alice.auth), 404)

    asyncio.run(scenario())


def test_v2_form_encoded_keywords_attributes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            unindexed = [
                ("title", "Form"),
                ("context[]", "public"),
                ("keywords_attributes[][keyword]", "one"),
                ("keywords_attributes[][whole_word]", "false"),
                ("keywords_attributes[][keyword]", "two"),
                ("keywords_attributes[][whole_word]", "true"),
            ]
            created = await ok(await client.post("/api/v2/filters", data=unindexed, headers=alice.auth))
            assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [("one", False), ("two", True)]
            indexed = [("keywords_attributes[0][id]", created["keywords"][0]["id"])]
            indexed += [("keywords_attributes[0][_destroy]", "1"), ("keywords_attributes[1][keyword]", "three")]
            path = f"/api/v2/filters/{created['id']}"
            updated = await ok(await client.put(path, data=indexed, headers=alice.auth))
            assert [k["keyword"] for k in updated["keywords"]] == ["two", "three"]
            ragged = [("title", "x"), ("context[]", "home"), ("keywords_attributes[][keyword]", "a")]
            ragged += [("keywords_attributes[][keyword]", "b"), ("keywords_attributes[][whole_word]", "true")]
            assert "same fields" in await error(
                await client.post("/api/v2/filters", data=ragged, headers=alice.auth), 422
            )

    asyncio.run(scenario())


def test_v2_keyword_and_status_routes(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice, bob] = await sign_up(client, "alice", "bob")
            body = {"title": "F", "context": ["home"]}
            filter_id = (await ok(await client.post("/api/v2/filters", json=body, headers=alice.auth)))["id"]
            keywords = f"/api/v2/filters/{filter_id}/keywords"
            added = await ok(await client.post(keywords, data={"keyword": "word"}, headers=alice.auth))
            assert_valid(schemas, "FilterKeyword", added)
            assert (added["keyword"], added["whole_word"]) == ("word", True)
            assert await ok(await client.get(keywords, headers=alice.auth)) == [added]
            for row in (f"/api/v2/filters/keywords/{added['id']}", f"/api/v2/filter_keywords/{added['id']}"):
                assert await ok(await client.get(row, headers=alice.auth)) == added
                assert await error(await client.get(row, headers=bob.auth), 404)
            row = f"/api/v2/filters/keywords/{added['id']}"
            changed = await ok(
                await client.put(row, json={"keyword": "other", "whole_word": False}, headers=alice.auth)
            )
            assert (changed["id"], changed["keyword"], changed["whole_word"]) == (added["id"], "other", False)
            assert await ok(await client.delete(row, headers=alice.auth)) == {}
            assert await error(await client.get(row, headers=alice.auth), 404)
            assert await error(await client.post(keywords, json={}, headers=alice.auth), 400)

            posted = await ok(await client.post("/api/v1/statuses", json={"status": "hi"}, headers=bob.auth))
            statuses = f"/api/v2/filters/{filter_id}/statuses"
            filtered = await ok(await client.post(statuses, json={"status_id": posted["id"]}, headers=alice.auth))
            assert_valid(schemas, "FilterStatus", filtered)
            assert filtered["status_id"] == posted["id"]
            again = await ok(await client.post(statuses, json={"status_id": posted["id"]}, headers=alice.auth))
            assert again == filtered  # filtering a status twice keeps one entry
            assert await ok(await client.get(statuses, headers=alice.auth)) == [filtered]
            status_row = f"/api/v2/filter_statuses/{filtered['id']}"
            assert (
                await ok(await client.get(f"/api/v2/filters/statuses/{filtered['id']}", headers=alice.auth)) == filtered
            )
            assert await ok(await client.delete(status_row, headers=alice.auth)) == {}
            assert await ok(await client.get(statuses, headers=alice.auth)) == []
            missing = await client.post(statuses, json={"status_id": "99999"}, headers=alice.auth)
            assert await error(missing, 404) == "Record not found"

    asyncio.run(scenario())


def test_v2_validation_and_scopes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            no_context = await client.post("/api/v2/filters", json={"title": "x"}, headers=alice.auth)
            assert "context" in await error(no_context, 422)
            bad_context = await client.post(
                "/api/v2/filters", json={"title": "x", "context": ["web"]}, headers=alice.auth
            )
            assert "unknown filter context" in await error(bad_context, 422)
            bad_action = {"title": "x", "context": ["home"], "filter_action": "drop"}
            assert "filter_action" in await error(
                await client.post("/api/v2/filters", json=bad_action, headers=alice.auth), 422
            )
            bad_expiry = {"title": "x", "context": ["home"], "expires_in": "soon"}
            assert await error(await client.post("/api/v2/filters", json=bad_expiry, headers=alice.auth), 422)
            assert await error(await client.get("/api/v2/filters"), 401)
            assert await error(await client.get("/api/v2/filters/123", headers=alice.auth), 404)

    asyncio.run(scenario())


def test_v1_filters_map_onto_v2(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            form = {"phrase": "spoiler", "context[]": ["home", "public"], "irreversible": "true", "whole_word": "false"}
            created = await ok(await client.post("/api/v1/filters", data=form, headers=alice.auth))
            assert_valid(schemas, "V1Filter", created)
            assert (created["phrase"], created["irreversible"], created["whole_word"]) == ("spoiler", True, False)
            [group] = await ok(await client.get("/api/v2/filters", headers=alice.auth))
            assert (group["title"], group["filter_action"], group["keywords"][0]["id"]) == (
                "spoiler",
                "hide",
                created["id"],
            )
            path = f"/api/v1/filters/{created['id']}"
            body = {"phrase": "leak", "context": ["thread"], "irreversible": False}
            updated = await ok(await client.put(path, json=body, headers=alice.auth))
            assert (updated["id"], updated["phrase"], updated["context"], updated["irreversible"]) == (
                created["id"],
                "leak",
                ["thread"],
                False,
            )
            assert await ok(await client.get(path, headers=alice.auth)) == updated
            keywords = f"/api/v2/filters/{group['id']}/keywords"
            second = await ok(await client.post(keywords, json={"keyword": "plot"}, headers=alice.auth))
            listed = await ok(await client.get("/api/v1/filters", headers=alice.auth))
            assert [f["phrase"] for f in listed] == ["leak", "plot"]
            for entry in listed:
                assert_valid(schemas, "V1Filter", entry)
            refused = await client.put(path, json={"phrase": "leak", "context": ["home"]}, headers=alice.auth)
            assert "more than one filter keyword" in await error(refused, 422)
            same_filter = await client.put(path, json={"phrase": "leak", "whole_word": True}, headers=alice.auth)
            assert (await ok(same_filter))["whole_word"] is True  # the filter's own fields unchanged: allowed
            assert await ok(await client.delete(f"/api/v1/filters/{second['id']}", headers=alice.auth)) == {}
            [still] = await ok(await client.get("/api/v2/filters", headers=alice.auth))
            assert [k["keyword"] for k in still["keywords"]] == ["leak"]  # v1 delete removes the keyword only
            assert await error(
                await client.post("/api/v1/filters", json={"context": ["home"]}, headers=alice.auth), 400
            )

    asyncio.run(scenario())


def test_filter_changes_reach_the_user_stream(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            ws = await client.ws_connect("/api/v1/streaming?stream=user", headers=bearer(alice.token))
            body = {"title": "F", "context": ["home"]}
            created = await ok(await client.post("/api/v2/filters", json=body, headers=alice.auth))
            message = await asyncio.wait_for(ws.receive(), WAIT_S)
            assert json.loads(message.data) == {"stream": ["user"], "event": "filters_changed", "payload": ""}
            await ok(await client.delete(f"/api/v2/filters/{created['id']}", headers=alice.auth))
            message = await asyncio.wait_for(ws.receive(), WAIT_S)
            assert json.loads(message.data)["event"] == "filters_changed"
            await ws.close()

    asyncio.run(scenario())
