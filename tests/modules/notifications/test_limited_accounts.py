"""The `for_limited_accounts` policy: notifications from an account moderation limited, that the recipient does
not follow, are filtered into a request or dropped, judged by the activity's time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act
from tests.modules.core.support import follow, post, register
from tests.modules.notifications.support import MODULE, kinds, launched, op


async def moderate(cluster: InProcessCluster, action: str, account: int, moderator: int) -> None:
    """Limit or unlimit `account` as `moderator`."""
    record = {"op": action, "account": account, "moderator": moderator}
    await cluster.append("moderation", "*account_actions", record)


async def held(cluster: InProcessCluster, account: int) -> list[tuple[int, int]]:
    """The account's pending requests as (sender, notifications held), once every topology is idle."""
    await cluster.controls.wait_idle()
    found: list[dict[str, Any]] = await cluster.query(MODULE, "notification_requests", account)
    return [(request["account"], request["notifications_count"]) for request in found]


def test_a_limited_stranger_is_filtered_then_dropped_and_a_followed_one_is_not(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave, mod = [
                await register(cluster, name) for name in ("alice", "bob", "carol", "dave", "mod")
            ]
            await follow(cluster, alice, carol)
            status = await post(cluster, alice, "hello")
            for limited in (bob, carol):
                await moderate(cluster, "limit", limited, mod)
            for actor in (bob, carol, dave):
                clock.advance(1)
                await act(cluster, "favourite", actor, status)
            shown = [("favourite", dave, status), ("favourite", carol, status)]
            assert await kinds(cluster, alice) == shown  # carol is limited, but alice follows her
            assert await held(cluster, alice) == [(bob, 1)]  # Mastodon's default: "filter"
            await op(cluster, {"op": "policy", "account": alice, "for_limited_accounts": "drop"})
            clock.advance(1)
            await act(cluster, "reblog", bob, status)
            assert await kinds(cluster, alice) == shown and await held(cluster, alice) == [(bob, 1)]  # dropped
            await moderate(cluster, "unlimit", bob, mod)
            clock.advance(1)
            mention = await post(cluster, bob, "@alice", mentions=[alice])
            assert (await kinds(cluster, alice))[0] == ("mention", bob, mention)
            await op(cluster, {"op": "policy", "account": alice, "for_limited_accounts": "accept"})
            await moderate(cluster, "limit", dave, mod)
            clock.advance(1)
            await act(cluster, "reblog", dave, status)
            assert (await kinds(cluster, alice))[0] == ("reblog", dave, status)

    asyncio.run(scenario())


def test_a_limit_judges_activities_by_their_time_not_by_when_they_are_processed(
    tmp_path: Path, store_kind: str
) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, mod = [await register(cluster, name) for name in ("alice", "bob", "mod")]
            status = await post(cluster, alice, "hello")
            await cluster.controls.wait_idle()
            cluster.controls.pause(MODULE, "notifications")
            await act(cluster, "favourite", bob, status)
            clock.advance(1)
            await moderate(cluster, "limit", bob, mod)  # committed before notifications sees the favourite
            await cluster.controls.wait_idle()
            cluster.controls.resume(MODULE, "notifications")
            assert await kinds(cluster, alice) == [("favourite", bob, status)]  # made before bob was limited
            clock.advance(1)
            await act(cluster, "reblog", bob, status)
            assert await kinds(cluster, alice) == [("favourite", bob, status)]
            assert await held(cluster, alice) == [(bob, 1)]

    asyncio.run(scenario())
