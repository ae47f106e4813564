"""Edits: revisions kept for history, source, tags re-read, idempotent by uuid, author only, not after delete."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from tests.modules.core.content_support import depot_records, edit
from tests.modules.core.support import CORE, delete, launched, post, register
from topology.context import RecordRejected


def test_an_edit_keeps_the_original_and_every_revision(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            status_id = await post(cluster, alice, "first #draft", spoiler_text="cw", language="en")
            created = clock.now_ms()
            history = await cluster.query(CORE, "status_history", status_id)
            assert [entry["text"] for entry in history] == ["first #draft"]  # never edited: itself
            clock.advance(60_000)
            assert await edit(cluster, alice, status_id, "second #final", "e-1", sensitive=True) == status_id
            status = await cluster.query(CORE, "status", status_id)
            assert status["text"] == "second #final" and status["tags"] == ["final"]
            assert status["edited_at"] == clock.now_ms() and status["created_at"] == created
            assert status["spoiler_text"] == "" and status["sensitive"] is True and status["language"] == "en"
            assert status["revision"] == 1
            history = await cluster.query(CORE, "status_history", status_id)
            assert [(e["text"], e["spoiler_text"], e["sensitive"], e["created_at"]) for e in history] == [
                ("first #draft", "cw", True, created),
                ("second #final", "", True, clock.now_ms()),
            ]
            assert all(entry["account"] == alice for entry in history)
            source = await cluster.query(CORE, "status_source", status_id)
            assert source == {"id": status_id, "text": "second #final", "spoiler_text": ""}
            [delivery] = await cluster.query(CORE, "author_deliveries", alice, 1)
            assert delivery["tags"] == ["final"]
            await cluster.controls.wait_idle()
            updates = [r for r in await depot_records(cluster, "*statuses_with_id") if r["op"] == "update"]
            assert [(u["id"], u["author"], u["revision"], u["text"], u["status"]["tags"]) for u in updates] == [
                (status_id, alice, 1, "second #final", ["final"])
            ]

    asyncio.run(scenario())


def test_a_retried_edit_is_applied_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            status_id = await post(cluster, alice, "v0")
            clock.advance(1)
            await edit(cluster, alice, status_id, "v1", "e-1")
            await edit(cluster, alice, status_id, "v1", "e-1")  # the client retried
            clock.advance(1)
            await edit(cluster, alice, status_id, "v2", "e-2")
            await edit(cluster, alice, status_id, "v1", "e-1")  # a late retry of the first edit
            history = await cluster.query(CORE, "status_history", status_id)
            assert [entry["text"] for entry in history] == ["v0", "v1", "v2"]
            shown = await cluster.query(CORE, "status", status_id)
            assert (shown["text"], shown["revision"]) == ("v2", 2)
            await cluster.controls.wait_idle()
            updates = [r for r in await depot_records(cluster, "*statuses_with_id") if r["op"] == "update"]
            assert [(u["revision"], u["text"]) for u in updates] == [(1, "v1"), (2, "v2")]  # retries add none
            other = await post(cluster, alice, "other")
            with pytest.raises(RecordRejected, match="was used for status"):
                await edit(cluster, alice, other, "v1", "e-1")

    asyncio.run(scenario())


def test_only_the_author_edits_and_a_deleted_status_stays_deleted(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=FakeClock()) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status_id = await post(cluster, alice, "mine")
            with pytest.raises(RecordRejected, match="has no status"):
                await edit(cluster, bob, status_id, "hijacked", "b-1")
            await edit(cluster, alice, status_id, "edited", "a-1")
            await delete(cluster, alice, status_id)
            with pytest.raises(RecordRejected, match="has no status"):
                await edit(cluster, alice, status_id, "undead", "a-2")
            assert await cluster.query(CORE, "status", status_id) is None
            assert await cluster.query(CORE, "status_history", status_id) is None
            assert await cluster.query(CORE, "status_source", status_id) is None
            with pytest.raises(RecordRejected, match="over the limit"):
                await edit(cluster, alice, await post(cluster, alice, "ok"), "x" * 501, "a-3")

    asyncio.run(scenario())
