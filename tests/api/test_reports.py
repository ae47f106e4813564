"""Reports end to end: filed once per Idempotency-Key, Mastodon's Report entity, and every refusal."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import User, error, ok, sign_up
from tests.api.support import CHEAP, app_token, bearer, make_app, served

CONFIG = replace(CHEAP, rules=("Be kind", "No spam"))


async def post(client: TestClient[Any, Any], author: User, text: str) -> str:
    """Post a public status as `author` and return its id."""
    status = await ok(await client.post("/api/v1/statuses", json={"status": text}, headers=author.auth))
    return str(status["id"])


def test_a_report_is_filed_once_and_rendered_as_mastodon_does(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served(tmp_path, CONFIG) as (client, cluster):
            alice, bob = await sign_up(client, "alice", "bob")
            spam = [await post(client, bob, f"buy now {n}") for n in range(2)]
            body = {"account_id": bob.id, "status_ids": spam, "comment": "ads", "rule_ids": ["2"], "category": "spam"}
            headers = {**alice.auth, "Idempotency-Key": "report-1"}
            report = await ok(await client.post("/api/v1/reports", json=body, headers=headers))
            assert_valid(schemas, "Report", report)
            assert (report["category"], report["comment"], report["rule_ids"]) == ("violation", "ads", ["2"])
            assert sorted(report["status_ids"]) == sorted(spam) and report["target_account"]["id"] == bob.id
            assert (report["action_taken"], report["forwarded"], report["action_taken_at"]) == (False, False, None)
            again = await ok(await client.post("/api/v1/reports", json={**body, "comment": "x"}, headers=headers))
            assert again == report
            form = {"account_id": bob.id, "comment": "rude"}
            plain = await ok(await client.post("/api/v1/reports", data=form, headers=alice.auth))
            assert plain["id"] != report["id"] and (plain["category"], plain["rule_ids"]) == ("other", None)
            listed = await cluster.query("moderation", "reports_against", int(bob.id))
            assert listed == [int(plain["id"]), int(report["id"])]

    asyncio.run(scenario())


def test_reports_are_refused_with_mastodon_statuses(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path, CONFIG) as (client, _):
            alice, bob, carol = await sign_up(client, "alice", "bob", "carol")
            carols = await post(client, carol, "not bob's")

            async def refused(body: dict[str, Any], status: int, user: User = alice) -> str:
                return await error(await client.post("/api/v1/reports", json=body, headers=user.auth), status)

            assert await refused({"account_id": bob.id, "status_ids": [carols]}, 404) == "Record not found"
            assert await refused({"account_id": "99999"}, 404) == "Record not found"
            assert "rule '3'" in await refused({"account_id": bob.id, "rule_ids": ["3"]}, 422)
            assert "too long" in await refused({"account_id": bob.id, "comment": "x" * 1_001}, 422)
            assert "category" in await refused({"account_id": bob.id, "category": "rude"}, 422)
            assert "report itself" in await refused({"account_id": alice.id}, 422)
            assert await refused({}, 400) == "Missing required parameter: account_id"
            anonymous = await client.post("/api/v1/reports", json={"account_id": bob.id})
            assert anonymous.status == 401
            reader = await app_token(client, await make_app(client), scope="read")
            app_only = await client.post("/api/v1/reports", json={"account_id": bob.id}, headers=bearer(reader))
            assert app_only.status == 403

    asyncio.run(scenario())
