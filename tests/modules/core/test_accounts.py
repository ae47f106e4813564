"""Accounts: registration idempotent by request uuid, unique usernames, profile edits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.modules.core.support import CORE, launched, register
from topology.context import RecordRejected


def test_register_is_idempotent_by_uuid_and_usernames_are_unique(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice = await register(cluster, "Alice", uuid="r-1", display_name="Alice A.")
            assert await register(cluster, "Alice", uuid="r-1") == alice  # a retried request
            with pytest.raises(RecordRejected, match="username taken"):
                await register(cluster, "alice", uuid="r-2")  # case-insensitive
            bob = await register(cluster, "bob")
            assert bob != alice
            account = await cluster.query(CORE, "account", alice)
            assert account["username"] == "Alice" and account["display_name"] == "Alice A."
            assert account["created_at"] == cluster.clock.now_ms()
            assert await cluster.query(CORE, "account_by_username", "ALICE") == alice
            assert await cluster.query(CORE, "account_by_username", "nobody") is None

    asyncio.run(scenario())


def test_profile_edits_and_bad_input(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice = await register(cluster, "alice")
            fields = [{"name": "site", "value": "https://example.org"}]
            update = {"op": "update", "account": alice, "note": "hi", "locked": True, "fields": fields}
            await cluster.append(CORE, "*accounts", update)
            account = await cluster.query(CORE, "account", alice)
            assert (account["note"], account["locked"], account["fields"]) == ("hi", True, fields)
            assert account["display_name"] == ""
            bad = [
                ({"op": "update", "account": 999, "note": "x"}, "unknown account"),
                ({"op": "update", "account": alice, "note": "x" * 501}, "over the limit"),
                ({"op": "update", "account": alice, "fields": fields * 5}, "at most 4"),
                ({"op": "register", "uuid": "u", "username": "no spaces"}, "letters, digits"),
                ({"op": "register", "uuid": "u", "username": "x" * 31}, "over 30"),
                ({"op": "register", "username": "nouuid"}, "uuid"),
                ({"op": "rename", "account": alice}, "unknown op"),
            ]
            for record, message in bad:
                with pytest.raises(RecordRejected, match=message):
                    await cluster.append(CORE, "*accounts", record)

    asyncio.run(scenario())
