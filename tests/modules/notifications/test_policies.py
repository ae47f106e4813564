"""Notification policies (Mastodon 4.3): filtered notifications wait in requests; accept, dismiss, drop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act
from tests.modules.core.support import follow, post, register
from tests.modules.notifications.support import MODULE, kinds, launched, op
from topology.context import RecordRejected

DAY_MS = 24 * 3_600_000


async def requests(cluster: InProcessCluster, account: int) -> list[dict[str, Any]]:
    """The account's pending requests, once every topology is idle."""
    await cluster.controls.wait_idle()
    found: list[dict[str, Any]] = await cluster.query(MODULE, "notification_requests", account)
    return found


async def summary(cluster: InProcessCluster, account: int) -> dict[str, int]:
    """The policy's summary: pending requests and notifications."""
    await cluster.controls.wait_idle()
    found: dict[str, int] = (await cluster.query(MODULE, "notification_policy", account))["summary"]
    return found


def test_private_mentions_from_strangers_wait_in_a_request_until_accepted(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def said(cluster: InProcessCluster, author: int, uuid: str, **fields: Any) -> int:
        clock.advance(1)  # notification ids order by time
        return await post(cluster, author, uuid, uuid=uuid, **fields)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            await follow(cluster, alice, carol)
            policy = await cluster.query(MODULE, "notification_policy", alice)
            assert (policy["for_private_mentions"], policy["for_not_following"]) == ("filter", "accept")
            dm = await said(cluster, bob, "dm", visibility="direct", mentions=[alice])
            public = await said(cluster, bob, "public", mentions=[alice])
            friend = await said(cluster, carol, "friend", visibility="direct", mentions=[alice])
            mine = await said(cluster, alice, "question")
            answer = await said(cluster, bob, "answer", visibility="direct", mentions=[alice], in_reply_to=mine)
            shown = [("mention", bob, answer), ("mention", carol, friend), ("mention", bob, public)]
            assert await kinds(cluster, alice) == shown  # a direct reply to alice is not filtered
            [request] = await requests(cluster, alice)
            assert (request["account"], request["notifications_count"], request["last_status"]) == (bob, 1, dm)
            assert await summary(cluster, alice) == {"pending_requests_count": 1, "pending_notifications_count": 1}
            assert await cluster.query(MODULE, "unread_count", alice) == 3  # filtered ones are not counted
            assert await cluster.query(MODULE, "notification_request", alice, request["id"]) == request
            assert await op(cluster, {"op": "accept_request", "account": alice, "id": request["id"]}) is True
            assert await kinds(cluster, alice) == [*shown, ("mention", bob, dm)]  # in its place by time
            again = await said(cluster, bob, "again", visibility="direct", mentions=[alice])
            assert (await kinds(cluster, alice))[0] == ("mention", bob, again)  # bob is allowed from now on
            assert await requests(cluster, alice) == []
            assert await op(cluster, {"op": "accept_request", "account": alice, "id": request["id"]}) is False

    asyncio.run(scenario())


def test_filter_drop_dismiss_and_new_accounts(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, dave, erin, frank = [await register(cluster, name) for name in ("alice", "dave", "erin", "frank")]
            clock.advance(31 * DAY_MS)
            gina = await register(cluster, "gina")
            status = await post(cluster, alice, "hello")
            changed = {
                "op": "policy",
                "account": alice,
                "for_not_followers": "filter",
                "for_private_mentions": "accept",
            }
            assert (await op(cluster, changed))["for_not_followers"] == "filter"
            await follow(cluster, frank, alice)
            clock.advance(1)
            await act(cluster, "favourite", dave, status)  # dave does not follow alice: filtered
            clock.advance(1)
            await act(cluster, "favourite", frank, status)
            assert await kinds(cluster, alice) == [("favourite", frank, status), ("follow", frank, None)]
            [request] = await requests(cluster, alice)
            assert await op(cluster, {"op": "dismiss_request", "account": alice, "id": request["id"]}) is True
            assert await requests(cluster, alice) == [] and len(await kinds(cluster, alice)) == 2
            assert await summary(cluster, alice) == {"pending_requests_count": 0, "pending_notifications_count": 0}
            drop = {"op": "policy", "account": alice, "for_not_followers": "accept", "for_not_following": "drop"}
            await op(cluster, drop)
            clock.advance(1)
            await act(cluster, "favourite", erin, status)  # alice follows nobody: dropped outright
            assert len(await kinds(cluster, alice)) == 2 and await requests(cluster, alice) == []
            young = {"op": "policy", "account": alice, "for_not_following": "accept", "for_new_accounts": "filter"}
            await op(cluster, young)
            clock.advance(1)
            await act(cluster, "reblog", gina, status)  # an account under 30 days old
            clock.advance(1)
            await act(cluster, "reblog", dave, status)  # registered 31 days ago
            assert (await kinds(cluster, alice))[0] == ("reblog", dave, status)
            assert [r["account"] for r in await requests(cluster, alice)] == [gina]
            with pytest.raises(RecordRejected, match="for_new_accounts must be one of"):
                await op(cluster, {"op": "policy", "account": alice, "for_new_accounts": "maybe"})

    asyncio.run(scenario())
