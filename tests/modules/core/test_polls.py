"""Polls: votes and counts, Mastodon's voting rules, edits that reset votes, one expiry event across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.testing import FakeClock
from tests.modules.core.content_support import MINUTE_MS, depot_records, edit, vote
from tests.modules.core.support import CORE, delete, launched, post, register
from topology.context import RecordRejected


def poll(*options: str, minutes: int = 10, **flags: Any) -> dict[str, Any]:
    """A poll spec expiring in `minutes`."""
    return {"options": list(options), "expires_in": minutes * 60, **flags}


def test_votes_counts_and_own_votes(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            single = await post(cluster, alice, "pick one", poll=poll("tea", "coffee"))
            many = await post(cluster, alice, "pick any", poll=poll("a", "b", "c", multiple=True, hide_totals=True))
            assert (await cluster.query(CORE, "status", single))["poll"] == single
            await vote(cluster, bob, single, [1], uuid="bob-1")
            await vote(cluster, bob, single, [1], uuid="bob-1")  # a retry: counted once
            await vote(cluster, alice, single, [0])  # Mastodon's API lets the author vote
            for choices in ([0], [1]):  # another request, the same choices or not: a second vote
                with pytest.raises(RecordRejected, match="already voted") as again:
                    await vote(cluster, bob, single, choices, uuid="bob-2")
                assert again.value.kind == "duplicate"
            with pytest.raises(RecordRejected, match="already voted"):  # no uuid: each record is its own vote
                await vote(cluster, alice, single, [0])
            with pytest.raises(RecordRejected, match="already voted"):  # several choices: Mastodon's second vote
                await vote(cluster, carol, single, [0, 1])
            await vote(cluster, carol, many, [0, 2])
            with pytest.raises(RecordRejected, match="already voted"):
                await vote(cluster, carol, many, [1, 2])  # no option twice
            await vote(cluster, carol, many, [1])  # a multiple-choice poll takes more options later
            await vote(cluster, bob, many, [2])
            seen = await cluster.query(CORE, "poll", bob, single)
            assert [o["votes_count"] for o in seen["options"]] == [1, 1] and seen["own_votes"] == [1]
            assert seen["votes_count"] == 2 and seen["voters_count"] == 2 and seen["voted"] is True
            hidden = await cluster.query(CORE, "poll", carol, many)
            assert [o["votes_count"] for o in hidden["options"]] == [None, None, None]
            assert hidden["own_votes"] == [0, 1, 2] and hidden["votes_count"] == 4 and hidden["voters_count"] == 2
            own = await cluster.query(CORE, "poll", alice, many)  # hidden from its author too, as in Mastodon
            assert [o["votes_count"] for o in own["options"]] == [None, None, None] and own["voted"] is False
            assert own["votes_count"] == 4 and own["voters_count"] == 2
            for choices, message in (([2], "option does not exist"), ([], "non-empty")):
                with pytest.raises(RecordRejected, match=message):
                    await vote(cluster, carol, single, choices)
            clock.advance(10 * MINUTE_MS)
            with pytest.raises(RecordRejected, match="already ended"):
                await vote(cluster, carol, single, [0])
            assert await vote(cluster, bob, single, [1], uuid="bob-1") == single  # a late retry still succeeds
            assert (await cluster.query(CORE, "poll", None, single))["expired"] is True
            ended = await cluster.query(CORE, "poll", None, many)  # once it has ended, everyone sees the totals
            assert [o["votes_count"] for o in ended["options"]] == [1, 1, 2] and ended["expired"] is True

    asyncio.run(scenario())


def test_bad_polls_and_votes_on_what_the_voter_cannot_see(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=FakeClock()) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            bad = [
                (poll("only"), "2 to 4 options"),
                (poll("a", "b", "c", "d", "e"), "2 to 4 options"),
                (poll("a", "a"), "distinct"),
                (poll("a", "x" * 51), "over the limit of 50"),
                (poll("a", "b", minutes=4), "expires_in"),
                (poll("a", "b", minutes=44_000), "expires_in"),
            ]
            for spec, message in bad:
                with pytest.raises(RecordRejected, match=message):
                    await post(cluster, alice, "q", uuid=f"bad-{message}", poll=spec)
            private = await post(cluster, alice, "followers", visibility="private", poll=poll("a", "b"))
            with pytest.raises(RecordRejected, match="unknown poll"):
                await vote(cluster, bob, private, [0])
            gone = await post(cluster, alice, "gone", poll=poll("a", "b"))
            await delete(cluster, alice, gone)
            with pytest.raises(RecordRejected, match="unknown poll"):
                await vote(cluster, bob, gone, [0])

    asyncio.run(scenario())


def test_editing_the_options_resets_the_votes(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status_id = await post(cluster, alice, "q", poll=poll("a", "b"))
            await vote(cluster, bob, status_id, [0])
            await edit(cluster, alice, status_id, "q (typo)", "e-1", poll=poll("a", "b", minutes=20))
            kept = await cluster.query(CORE, "poll", bob, status_id)
            assert kept["votes_count"] == 1 and kept["own_votes"] == [0]
            assert kept["expires_at"] == clock.now_ms() + 20 * MINUTE_MS
            await edit(cluster, alice, status_id, "q", "e-2", poll=poll("a", "b", "c"))
            reset = await cluster.query(CORE, "poll", bob, status_id)
            assert reset["votes_count"] == 0 and reset["voted"] is False and len(reset["options"]) == 3
            await vote(cluster, bob, status_id, [2])
            history = await cluster.query(CORE, "status_history", status_id)
            assert [entry["poll"] for entry in history] == [
                {"options": ["a", "b"]},
                {"options": ["a", "b"]},
                {"options": ["a", "b", "c"]},
            ]
            await edit(cluster, alice, status_id, "no poll after all", "e-3")
            assert await cluster.query(CORE, "poll", bob, status_id) is None
            assert (await cluster.query(CORE, "status", status_id))["poll"] is None

    asyncio.run(scenario())


def test_expiry_is_announced_once_across_restarts(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def expired(cluster: Any) -> list[dict[str, Any]]:
        await cluster.controls.wait_idle()
        return await depot_records(cluster, "*poll_events")

    async def live() -> tuple[int, int, int, int]:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            early = await post(cluster, alice, "early", poll=poll("a", "b", minutes=5))
            late = await post(cluster, bob, "late", poll=poll("a", "b", minutes=30))
            edited_away = await post(cluster, alice, "edited", poll=poll("a", "b", minutes=5))
            await edit(cluster, alice, edited_away, "no poll", "e-1")
            await vote(cluster, bob, early, [0])
            await vote(cluster, carol, early, [1])
            await vote(cluster, carol, late, [1])
            clock.advance(5 * MINUTE_MS - 1_000)  # the content tick fires every second
            assert await expired(cluster) == []
            clock.advance(1_000)
            assert await expired(cluster) == [
                {"op": "poll_expired", "status": early, "author": alice, "voters": sorted([bob, carol])}
            ]
            clock.advance(MINUTE_MS)
            assert len(await expired(cluster)) == 1
            return early, late, bob, carol

    async def reopened(late: int, bob: int, carol: int) -> list[dict[str, Any]]:
        async with launched(tmp_path, store_kind, clock=FakeClock(clock.now_ms())) as cluster:
            again = cluster.clock
            assert isinstance(again, FakeClock)
            again.advance(MINUTE_MS)
            assert len(await expired(cluster)) == 1  # not announced again after the restart
            again.advance(30 * MINUTE_MS)
            events = await expired(cluster)
            again.advance(MINUTE_MS)
            assert await expired(cluster) == events
            return events

    early, late, bob, carol = asyncio.run(live())
    events = asyncio.run(reopened(late, bob, carol))
    announced = sorted((e["status"], e["voters"]) for e in events)
    assert announced == [(early, sorted([bob, carol])), (late, [carol])]  # each once, late one after the restart
