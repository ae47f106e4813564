"""`*follow_events`: one event per effective change, on the followee's partition, consumable by a module."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.testing import FakeClock
from modules.relationships import Relationships
from modules.relationships.events import expand
from pstates.schema import Map, SortedMap
from tests.modules.relationships.support import MODULE, act, block, event_records, follow, launched, set_locked
from tests.runtimes import new_cluster
from topology.context import StreamContext
from topology.module import Module, ModuleBuilder, by_key


def ev(op: str, follower: int, followee: int) -> dict[str, Any]:
    """A follow event record."""
    return {"op": op, "follower": follower, "followee": followee}


def test_follow_unfollow_and_refollow_emit_once_each(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow(cluster, 1, 2)
            await follow(cluster, 1, 2, notify=True)  # an options update is no new follow
            await act(cluster, "unfollow", 1, 2)
            await act(cluster, "unfollow", 1, 2)  # nothing left to end
            await follow(cluster, 3, 2)
            await act(cluster, "remove_follower", 3, 2)
            assert await event_records(cluster) == [
                ev("followed", 1, 2),
                ev("unfollowed", 1, 2),
                ev("followed", 3, 2),
                ev("unfollowed", 3, 2),
            ]

    asyncio.run(scenario())


def test_requests_authorize_reject_and_withdraw(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await set_locked(cluster, 2, True)
            await follow(cluster, 1, 2)
            await follow(cluster, 1, 2, reblogs=False)  # re-requesting updates options only
            await act(cluster, "authorize", 1, 2)
            await act(cluster, "authorize", 1, 2)  # already a follower: accepted, nothing new
            await follow(cluster, 3, 2)
            await act(cluster, "reject", 3, 2)
            await follow(cluster, 4, 2)
            await act(cluster, "unfollow", 4, 2)
            await follow(cluster, 5, 2)
            await set_locked(cluster, 2, False)  # unlocking accepts the pending request
            assert await event_records(cluster) == [
                ev("requested", 1, 2),
                ev("followed", 1, 2),
                ev("requested", 3, 2),
                ev("rejected", 3, 2),
                ev("requested", 4, 2),
                ev("request_withdrawn", 4, 2),
                ev("requested", 5, 2),
                ev("followed", 5, 2),
            ]

    asyncio.run(scenario())


def test_a_block_ends_follows_both_ways_on_each_followees_partition(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await follow(cluster, 1, 2)
            await follow(cluster, 2, 1)
            await block(cluster, 1, 2)
            records = await event_records(cluster)  # checks each event's partition is its followee's
            expected = [ev(op, a, b) for op in ("followed", "unfollowed") for a, b in ((1, 2), (2, 1))]
            assert sorted(records, key=str) == sorted(expected, key=str)
            # Within one followee's partition, the order is the order things happened.
            assert [r["op"] for r in records if r["followee"] == 2] == ["followed", "unfollowed"]

    asyncio.run(scenario())


class FollowNotices(Module):
    """A stand-in for the notifications module: counts the follow events it consumes."""

    name = "notices"

    def define(self, m: ModuleBuilder) -> None:
        """Consume relationships' `*follow_events` into `$$notices`."""
        topology = m.stream("notices")
        topology.pstate("$$notices", Map(int, SortedMap(int, str)))
        topology.source("*follow_events", self.on_event, module=MODULE)
        m.query("notices", self.notices, route=by_key())

    def on_event(self, ctx: StreamContext, record: dict[str, Any]) -> None:
        """Keep the latest op per (followee, follower): idempotent under redelivery."""
        for event in expand(record):
            ctx.pstate("$$notices").put(event["followee"], event["follower"], event["op"])

    def notices(self, ctx: Any, followee: int) -> list[Any]:
        """Return `[follower, op]` pairs of `followee`."""
        return [[follower, op] for follower, op in ctx.pstate("$$notices").range(followee)]


def test_another_module_consumes_the_events(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path, store=store_kind, clock=FakeClock()) as cluster:
            await cluster.launch(Relationships(), tasks=4)
            await cluster.launch(FollowNotices(), tasks=4)
            await set_locked(cluster, 9, True)
            for follower in (1, 2, 3):
                await follow(cluster, follower, 9)
            await act(cluster, "authorize", 1, 9)
            await act(cluster, "reject", 2, 9)
            await cluster.controls.wait_idle()
            assert await cluster.query("notices", "notices", 9) == [[1, "followed"], [2, "rejected"], [3, "requested"]]

    asyncio.run(scenario())
