"""Media metadata: ids issued by core, retried uploads, updates while unattached, attaching to statuses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.testing import FakeClock
from tests.modules.core.content_support import edit, upload
from tests.modules.core.support import CORE, delete, launched, post, register
from topology.context import RecordRejected


def test_uploads_are_idempotent_and_change_only_while_unattached(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=FakeClock()) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            meta = {"original": {"width": 640, "height": 480}}
            first = await upload(cluster, alice, "u-1", description="a cat", meta=meta, blurhash="LKO2")
            assert await upload(cluster, alice, "u-1", description="a cat", meta=meta) == first
            [media] = await cluster.query(CORE, "media", alice, [first, 999])
            assert media["account"] == alice and media["type"] == "image" and media["status"] is None
            assert media["meta"] == meta and media["description"] == "a cat" and media["remote_url"] is None
            change = {"op": "update", "account": alice, "id": first, "focus": {"x": 0.5, "y": -1}}
            await cluster.append(CORE, "*media", change)
            [media] = await cluster.query(CORE, "media", None, [first])
            assert media["focus"] == {"x": 0.5, "y": -1.0} and media["description"] == "a cat"
            with pytest.raises(RecordRejected, match="has no media"):
                await cluster.append(CORE, "*media", {**change, "account": bob})
            await post(cluster, alice, "look", media=[first])
            with pytest.raises(RecordRejected, match="attached to a status"):
                await cluster.append(CORE, "*media", {**change, "description": "too late"})
            bad: list[tuple[dict[str, Any], str]] = [
                ({"type": "hologram"}, "type must be one of"),
                ({"description": "x" * 1501}, "over the limit of 1500"),
                ({"focus": {"x": 2, "y": 0}}, "within -1.0..1.0"),
            ]
            for fields, message in bad:
                with pytest.raises(RecordRejected, match=message):
                    await upload(cluster, alice, f"bad-{message}", **fields)
            with pytest.raises(RecordRejected, match="unknown account"):
                await upload(cluster, 4242, "nobody")

    asyncio.run(scenario())


def test_attachments_belong_to_one_status_of_their_owner(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=FakeClock()) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            ids = [await upload(cluster, alice, f"u-{i}") for i in range(5)]
            bobs = await upload(cluster, bob, "b-1")
            with pytest.raises(RecordRejected, match="at most 4 media"):
                await post(cluster, alice, "too many", media=ids)
            with pytest.raises(RecordRejected, match="has no media"):
                await post(cluster, alice, "not mine", media=[bobs])
            status_id = await post(cluster, alice, "four", media=ids[:4])
            assert (await cluster.query(CORE, "status", status_id))["media"] == ids[:4]
            attached = await cluster.query(CORE, "media", alice, ids)
            assert [m["status"] for m in attached] == [status_id] * 4 + [None]
            with pytest.raises(RecordRejected, match="already attached"):
                await post(cluster, alice, "again", media=[ids[0]])
            with pytest.raises(RecordRejected, match="both media and a poll"):
                await post(cluster, alice, "poll", media=[ids[4]], poll={"options": ["a", "b"], "expires_in": 600})
            await edit(cluster, alice, status_id, "swapped", "e-1", media=[ids[4], ids[0]])
            assert (await cluster.query(CORE, "status", status_id))["media"] == [ids[4], ids[0]]
            history = await cluster.query(CORE, "status_history", status_id)
            assert [entry["media"] for entry in history] == [ids[:4], [ids[4], ids[0]]]
            await delete(cluster, alice, status_id)  # delete and redraft: the media are free again
            assert [m["status"] for m in await cluster.query(CORE, "media", alice, ids)] == [None] * 5
            redraft = await post(cluster, alice, "redraft", media=[ids[1]])
            assert (await cluster.query(CORE, "media", alice, [ids[1]]))[0]["status"] == redraft

    asyncio.run(scenario())
