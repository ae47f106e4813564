"""Direct conversations: an entry per participant and thread, unread, read, remove, deletes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.support import CORE, delete, launched, post, register
from topology.context import RecordRejected


async def entries(cluster: InProcessCluster, account: int) -> list[dict[str, Any]]:
    """`account`'s conversations, most recent first, once every topology has caught up."""
    await cluster.controls.wait_idle()
    found: list[dict[str, Any]] = await cluster.query(CORE, "direct_conversations", account)
    return found


def test_direct_statuses_make_conversations_per_participant(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            dm = await post(cluster, alice, "psst", visibility="direct", mentions=[bob, carol])
            await post(cluster, alice, "public", mentions=[bob])  # not direct: no conversation
            [mine] = await entries(cluster, alice)
            assert mine == {
                "conversation": dm,
                "accounts": sorted([bob, carol]),
                "statuses": [dm],
                "last_status": dm,
                "unread": False,
            }
            [bobs] = await entries(cluster, bob)
            assert bobs["accounts"] == sorted([alice, carol]) and bobs["unread"] is True
            clock.advance(1)
            reply = await post(cluster, bob, "ok", visibility="direct", mentions=[alice], in_reply_to=dm)
            clock.advance(1)
            other = await post(cluster, carol, "new thread", visibility="direct", mentions=[alice])
            listed = await entries(cluster, alice)
            assert [e["conversation"] for e in listed] == [other, dm]  # the most recent first
            assert listed[1]["statuses"] == [dm, reply] and listed[1]["unread"] is True
            assert (await cluster.query(CORE, "direct_conversation", bob, dm))["unread"] is False  # bob replied
            await cluster.append(CORE, "*conversations", {"op": "read", "account": alice, "conversation": dm})
            assert (await cluster.query(CORE, "direct_conversation", alice, dm))["unread"] is False
            await cluster.append(CORE, "*conversations", {"op": "remove", "account": alice, "conversation": other})
            assert [e["conversation"] for e in await entries(cluster, alice)] == [dm]
            with pytest.raises(RecordRejected, match="no conversation"):
                await cluster.append(CORE, "*conversations", {"op": "read", "account": alice, "conversation": other})
            await delete(cluster, bob, reply)
            [after] = await entries(cluster, alice)
            assert after["statuses"] == [dm] and after["last_status"] == dm
            await delete(cluster, alice, dm)
            assert await entries(cluster, alice) == [] and await entries(cluster, bob) == []
            assert [e["conversation"] for e in await entries(cluster, carol)] == [other]

    asyncio.run(scenario())
