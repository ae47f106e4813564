"""Statuses: idempotent create by client uuid, time-ordered ids, delete, validation, hydration."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from modules.core.ids import time_of
from tests.modules.core.support import CORE, delete, launched, post, register
from topology.context import RecordRejected


def test_a_retried_create_returns_the_same_id_and_stores_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            first = await post(cluster, alice, "hello", uuid="c-1", language="en")
            assert await post(cluster, alice, "hello", uuid="c-1") == first
            assert await cluster.query(CORE, "author_statuses", alice) == [first]
            assert await cluster.query(CORE, "status_id_for_uuid", alice, "c-1") == first
            status = await cluster.query(CORE, "status", first)
            assert status["text"] == "hello" and status["visibility"] == "public" and status["language"] == "en"
            assert status["created_at"] == cluster.clock.now_ms() == time_of(first)

    asyncio.run(scenario())


def test_ids_increase_with_time_and_within_a_millisecond(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            authors = [await register(cluster, f"user{i}") for i in range(6)]
            ids = []
            for step in range(3):
                same_ms = [await post(cluster, a, f"post {step}") for a in authors]
                same_ms += [await post(cluster, a, f"again {step}") for a in authors]
                assert len(set(same_ms)) == len(same_ms)
                assert all(time_of(i) == cluster.clock.now_ms() for i in same_ms)
                ids.append(same_ms)
                clock.advance(1)
            assert max(ids[0]) < min(ids[1]) and max(ids[1]) < min(ids[2])
            newest_first = await cluster.query(CORE, "author_statuses", authors[0])
            assert newest_first == sorted(newest_first, reverse=True) and len(newest_first) == 6

    asyncio.run(scenario())


def test_delete_leaves_a_tombstone_and_is_refused_twice(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            kept, gone = await post(cluster, alice, "keep"), await post(cluster, alice, "gone")
            with pytest.raises(RecordRejected, match="has no status"):
                await delete(cluster, bob, gone)  # only the author deletes
            await delete(cluster, alice, gone)
            assert await cluster.query(CORE, "status", gone) is None
            assert await cluster.query(CORE, "author_statuses", alice) == [kept]
            hydrated = await cluster.query(CORE, "statuses", bob, [gone, kept])
            assert [s["id"] for s in hydrated] == [kept]
            with pytest.raises(RecordRejected, match="has no status"):
                await delete(cluster, alice, gone)
            with pytest.raises(RecordRejected, match="unknown status"):
                await post(cluster, bob, "reply", in_reply_to=gone)

    asyncio.run(scenario())


def test_hydrate_joins_accounts_and_replies_know_their_parent(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            parent = await post(cluster, alice, "question")
            reply = await post(cluster, bob, "answer", in_reply_to=parent, mentions=[alice])
            hydrated = await cluster.query(CORE, "statuses", None, [reply, parent, 12345])
            assert [s["id"] for s in hydrated] == [reply, parent]
            assert hydrated[0]["account"]["username"] == "bob"
            assert hydrated[0]["in_reply_to"] == parent and hydrated[0]["in_reply_to_account"] == alice
            assert hydrated[0]["mentions"] == [alice]

    asyncio.run(scenario())


def test_bad_statuses_are_rejected_before_anything_is_written(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            bad = [
                ({"author": alice, "uuid": "a", "text": "x" * 501}, "over the limit of 500"),
                ({"author": alice, "uuid": "b", "text": "x", "visibility": "secret"}, "visibility"),
                ({"author": 424242, "uuid": "c", "text": "x"}, "unknown account"),
                ({"author": alice, "uuid": "d", "text": "x", "mentions": list(range(1, 60))}, "mentions"),
                ({"author": alice, "text": "x"}, "uuid"),
            ]
            for fields, message in bad:
                with pytest.raises(RecordRejected, match=message):
                    await cluster.append(CORE, "*statuses", {"op": "create", **fields})
            assert await cluster.query(CORE, "author_statuses", alice) == []

    asyncio.run(scenario())
