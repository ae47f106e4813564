"""Favourites and bookmarks: idempotent, paged by their own time-ordered ids, only on visible statuses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act, card, events
from tests.modules.core.support import CORE, RELATIONSHIPS, follow, launched, post, register
from topology.context import RecordRejected


def test_a_repeated_favourite_counts_and_announces_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "like me")
            for _ in range(2):
                assert await act(cluster, "favourite", bob, status) == status
            [[favourite, favourited]] = await cluster.query(CORE, "favourites", bob)
            assert favourited == status
            assert await cluster.query(CORE, "favourited_by", status) == [[favourite, bob]]
            seen = await card(cluster, bob, status)
            assert (seen["favourites_count"], seen["favourited"]) == (1, True)
            assert (await card(cluster, alice, status))["favourited"] is False
            for _ in range(2):
                await act(cluster, "unfavourite", bob, status)
            assert await cluster.query(CORE, "favourites", bob) == []
            assert (await card(cluster, bob, status))["favourites_count"] == 0
            event = {"account": bob, "status": status, "author": alice, "favourite": favourite}
            what = {"visibility": "public", "text": "like me", "mentions": []}  # for trends and search
            assert await events(cluster) == [{"op": "favourited", **event, **what}, {"op": "unfavourited", **event}]

    asyncio.run(scenario())


def test_favourites_page_by_when_they_were_made(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            statuses = []
            for i in range(4):
                statuses.append(await post(cluster, alice, f"post {i}"))
                clock.advance(1)
            for status in (statuses[2], statuses[0], statuses[3], statuses[1]):
                await act(cluster, "favourite", bob, status)
                clock.advance(1)
            rows = await cluster.query(CORE, "favourites", bob)
            assert [s for _, s in rows] == [statuses[1], statuses[3], statuses[0], statuses[2]]
            cursors = [cursor for cursor, _ in rows]
            assert cursors == sorted(cursors, reverse=True)
            assert await cluster.query(CORE, "favourites", bob, cursors[1], None, None, 2) == rows[2:4]
            assert await cluster.query(CORE, "favourites", bob, None, cursors[2]) == rows[:2]  # since_id
            assert await cluster.query(CORE, "favourites", bob, None, None, cursors[3], 1) == rows[2:3]  # min_id
            assert [a for _, a in await cluster.query(CORE, "favourited_by", statuses[0])] == [bob]

    asyncio.run(scenario())


def test_only_statuses_the_account_may_see_can_be_favourited(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            await follow(cluster, carol, alice)
            private = await post(cluster, alice, "followers", visibility="private")
            direct = await post(cluster, alice, "for carol", visibility="direct", mentions=[carol])
            for status in (private, direct):
                with pytest.raises(RecordRejected, match="not found"):
                    await act(cluster, "favourite", bob, status)
                with pytest.raises(RecordRejected, match="not found"):
                    await act(cluster, "bookmark", bob, status)
                assert await act(cluster, "favourite", carol, status) == status
            with pytest.raises(RecordRejected, match="unknown status"):
                await act(cluster, "favourite", bob, direct + 1)
            with pytest.raises(RecordRejected, match="unknown account"):
                await act(cluster, "favourite", direct, private)
            public = await post(cluster, alice, "everyone")
            await cluster.append(RELATIONSHIPS, "*blocks", {"op": "block", "blocker": bob, "blocked": alice})
            with pytest.raises(RecordRejected, match="blocks the author"):
                await act(cluster, "favourite", bob, public)
            assert await act(cluster, "bookmark", bob, public) == public  # Mastodon: bookmarking needs `show?` only
            await cluster.append(RELATIONSHIPS, "*blocks", {"op": "block", "blocker": alice, "blocked": carol})
            with pytest.raises(RecordRejected, match="not found"):
                await act(cluster, "favourite", carol, public)
            favourited = sorted(e["status"] for e in await events(cluster) if e["op"] == "favourited")
            assert favourited == sorted([private, direct])

    asyncio.run(scenario())


def test_favouriting_or_bookmarking_a_boost_marks_its_original(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            original = await post(cluster, alice, "hi")
            boost = await act(cluster, "reblog", bob, original)
            assert await act(cluster, "favourite", carol, boost) == original
            assert await act(cluster, "bookmark", carol, boost) == original
            boosted = await card(cluster, carol, boost)
            assert (boosted["favourited"], boosted["reblog"]["favourited"]) == (False, True)
            assert boosted["reblog"]["bookmarked"] is True
            await act(cluster, "unfavourite", carol, boost)
            await act(cluster, "unbookmark", carol, boost)
            seen = await card(cluster, carol, original)
            assert (seen["favourited"], seen["bookmarked"], seen["favourites_count"]) == (False, False, 0)

    asyncio.run(scenario())


def test_bookmarks_are_idempotent_private_and_paged(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            first, second = await post(cluster, alice, "one"), await post(cluster, alice, "two")
            for status in (second, first, second):
                await act(cluster, "bookmark", bob, status)
                clock.advance(1)
            rows = await cluster.query(CORE, "bookmarks", bob)
            assert [s for _, s in rows] == [first, second]  # newest bookmark first; the repeat changed nothing
            assert await cluster.query(CORE, "bookmarks", bob, rows[0][0]) == rows[1:]
            assert (await card(cluster, bob, first))["bookmarked"] is True
            assert await cluster.query(CORE, "bookmarks", alice) == []
            for _ in range(2):
                await act(cluster, "unbookmark", bob, first)
            assert await cluster.query(CORE, "bookmarks", bob) == rows[1:]
            bookmarked = [(e["op"], e["status"], e["bookmark"]) for e in await events(cluster)]
            assert bookmarked == [  # once per effective change, for search; notifications ignore them
                ("bookmarked", second, rows[1][0]),
                ("bookmarked", first, rows[0][0]),
                ("unbookmarked", first, rows[0][0]),
            ]

    asyncio.run(scenario())
