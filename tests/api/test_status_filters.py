"""Filters apply where statuses are shown: `hide` drops them, `warn` marks them, only in the filter's contexts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import ok, sign_up
from tests.api.support import served


def test_home_hides_and_warns_by_the_viewers_filters_in_their_contexts(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path) as (client, cluster):
            [alice, bob] = await sign_up(client, "alice", "bob")
            await ok(await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.auth))
            for title, action, keyword in (("Spoilers", "warn", "finale"), ("Secrets", "hide", "secret")):
                body = {
                    "title": title,
                    "context": ["home"],
                    "filter_action": action,
                    "keywords_attributes": [{"keyword": keyword, "whole_word": True}],
                }
                await ok(await client.post("/api/v2/filters", json=body, headers=alice.auth))
            texts = ("the finale was great", "a secret plan", "nothing to see", "finales are not matched")
            posted = [
                await ok(await client.post("/api/v1/statuses", json={"status": text}, headers=bob.auth))
                for text in texts
            ]
            await cluster.controls.wait_idle()
            home = await ok(await client.get("/api/v1/timelines/home", headers=alice.auth))
            shown = {status["id"]: status for status in home}
            assert posted[1]["id"] not in shown  # hidden by "secret"
            warned = shown[posted[0]["id"]]["filtered"]
            assert [(r["filter"]["title"], r["keyword_matches"]) for r in warned] == [("Spoilers", ["finale"])]
            assert_valid(schemas, "Status", shown[posted[0]["id"]])
            assert shown[posted[2]["id"]]["filtered"] == [] and shown[posted[3]["id"]]["filtered"] == []
            # The filters list only "home": bob's profile (context "account") shows everything unfiltered.
            profile = await ok(await client.get(f"/api/v1/accounts/{bob.id}/statuses", headers=alice.auth))
            assert {s["id"] for s in profile} >= {p["id"] for p in posted}
            assert all(s["filtered"] == [] for s in profile)

    asyncio.run(scenario())
