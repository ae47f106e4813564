"""Threads: conversation ids, the replies index, context ordering and visibility, spoilers on create."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.support import CORE, delete, follow, launched, post, register
from tests.modules.core.support import post as post_status
from topology.context import RecordRejected


def test_replies_inherit_the_conversation_and_context_is_depth_first(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def post_later(cluster: InProcessCluster, author: int, text: str, **fields: Any) -> int:
        clock.advance(1)  # ids order by time: replies oldest first means a later post sorts later
        return await post(cluster, author, text, **fields)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            post = partial(post_later, cluster)
            root = await post(alice, "root")
            a = await post(bob, "a", in_reply_to=root)
            b = await post(carol, "b", in_reply_to=root)
            a1 = await post(alice, "a1", in_reply_to=a)
            a1x = await post(bob, "a1x", in_reply_to=a1)
            a2 = await post(carol, "a2", in_reply_to=a)
            b1 = await post(bob, "b1", in_reply_to=b)
            other = await post(bob, "another thread")
            statuses = await cluster.query(CORE, "statuses", None, [root, a, a1x, b1, other])
            assert [s["conversation"] for s in statuses] == [root, root, root, root, other]
            context = await cluster.query(CORE, "context", None, root)
            assert context == {"ancestors": [], "descendants": [a, a1, a1x, a2, b, b1]}
            context = await cluster.query(CORE, "context", None, a1x)
            assert context == {"ancestors": [root, a, a1], "descendants": []}
            bounded = await cluster.query(CORE, "context", None, root, 2, 3, 2)
            assert bounded == {"ancestors": [], "descendants": [a, a1, a2]}  # depth 2: no a1x; 3 at most
            assert (await cluster.query(CORE, "context", None, a1x, 2))["ancestors"] == [a, a1]

    asyncio.run(scenario())


def test_context_hides_what_the_viewer_may_not_see_and_skips_deleted(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def post(cluster: InProcessCluster, author: int, text: str, **fields: Any) -> int:
        clock.advance(1)
        return await post_status(cluster, author, text, **fields)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            await follow(cluster, carol, bob)
            root = await post(cluster, alice, "root")
            private = await post(cluster, bob, "followers only", in_reply_to=root, visibility="private")
            await follow(cluster, alice, bob)  # a reply needs its parent visible to its author
            under_private = await post(cluster, alice, "public under private", in_reply_to=private)
            await follow(cluster, alice, bob, op="unfollow")
            direct = await post(cluster, bob, "dm", in_reply_to=root, visibility="direct", mentions=[alice])
            gone = await post(cluster, carol, "gone", in_reply_to=root)
            orphan = await post(cluster, alice, "under gone", in_reply_to=gone)
            await delete(cluster, carol, gone)
            everything = [private, under_private, direct]
            assert (await cluster.query(CORE, "context", bob, root))["descendants"] == everything
            assert (await cluster.query(CORE, "context", alice, root))["descendants"] == [under_private, direct]
            assert (await cluster.query(CORE, "context", carol, root))["descendants"] == [private, under_private]
            assert (await cluster.query(CORE, "context", None, root))["descendants"] == [under_private]
            assert (await cluster.query(CORE, "context", None, under_private))["ancestors"] == [root]
            assert await cluster.query(CORE, "context", None, private) is None  # not visible: no context
            assert await cluster.query(CORE, "context", None, gone) is None
            assert (await cluster.query(CORE, "context", None, orphan))["ancestors"] == []  # the chain ends
            with pytest.raises(RecordRejected, match="unknown status"):
                await post(cluster, bob, "reply to deleted", in_reply_to=gone)

    asyncio.run(scenario())


def test_spoiler_text_and_sensitive_on_create(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=FakeClock()) as cluster:
            alice = await register(cluster, "alice")
            warned = await post(cluster, alice, "plot", spoiler_text="spoilers")
            marked = await post(cluster, alice, "pic", sensitive=True)
            plain = await post(cluster, alice, "hi")
            found = await cluster.query(CORE, "statuses", None, [warned, marked, plain])
            assert [(s["spoiler_text"], s["sensitive"]) for s in found] == [
                ("spoilers", True),
                ("", True),
                ("", False),
            ]
            assert found[2]["edited_at"] is None and found[2]["poll"] is None and found[2]["media"] == []
            with pytest.raises(RecordRejected, match="over the limit of 500"):
                await post(cluster, alice, "x" * 300, uuid="long", spoiler_text="y" * 201)
            with pytest.raises(RecordRejected, match="sensitive"):
                await post(cluster, alice, "x", uuid="s", sensitive="yes")

    asyncio.run(scenario())
