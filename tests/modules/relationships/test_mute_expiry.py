"""Expired mutes read as absent everywhere, at the query's own clock unless a time is passed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.testing import FakeClock
from tests.modules.relationships.support import MODULE, append, block, launched


def test_every_read_ignores_an_expired_mute_at_the_cluster_clock(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            await append(cluster, "*mutes", {"op": "mute", "muter": 1, "muted": 2, "duration_s": 30})
            await append(cluster, "*mutes", {"op": "mute", "muter": 1, "muted": 3, "notifications": False})
            await block(cluster, 4, 1)
            start = clock.now_ms()
            assert (await cluster.query(MODULE, "relationship", 1, 2))["muting"]  # no time given: the clock's
            assert await cluster.query(MODULE, "mutes", 1) == [3, 2]
            assert await cluster.query(MODULE, "hidden_accounts", 1, [2, 3, 4, 5]) == [2, 3, 4]
            clock.advance(29_999)
            assert await cluster.query(MODULE, "hidden_accounts", 1, [2]) == [2]
            clock.advance(1)  # expires_at is exclusive: at it, the mute is over
            [to_two, to_three] = await cluster.query(MODULE, "relationships", 1, [2, 3])
            assert not to_two["muting"] and not to_two["muting_notifications"]
            assert to_three["muting"] and not to_three["muting_notifications"]
            assert await cluster.query(MODULE, "mutes", 1) == [3]
            assert await cluster.query(MODULE, "hidden_accounts", 1, [2, 3, 4, 5]) == [3, 4]
            # A caller with its own time (a topology passes ctx.time_ms) still sees the mute as it was.
            assert await cluster.query(MODULE, "hidden_accounts", 1, [2], start) == [2]
            await append(cluster, "*mutes", {"op": "mute", "muter": 1, "muted": 2})  # muting again, for good
            assert await cluster.query(MODULE, "mutes", 1) == [3, 2]

    asyncio.run(scenario())
