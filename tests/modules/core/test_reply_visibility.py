"""A reply to a status its author may not see is refused as not found, before anything is written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.core.ids import first_id_at
from tests.modules.core.list_support import block
from tests.modules.core.support import CORE, follow, launched, post, register, register_many
from topology.context import RecordRejected


async def refused_reply(cluster: InProcessCluster, author: int, parent: int, uuid: str) -> RecordRejected:
    """Reply and return the rejection; the reply left no trace."""
    replies_before = await cluster.query(CORE, "context", None, parent)
    with pytest.raises(RecordRejected) as refused:
        await post(cluster, author, "a reply", uuid=uuid, in_reply_to=parent)
    assert await cluster.query(CORE, "status_id_for_uuid", author, uuid) is None
    assert await cluster.query(CORE, "context", None, parent) == replies_before
    return refused.value


def test_replies_need_the_parent_to_be_visible_to_their_author(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice, bob, carol = [await register(cluster, name) for name in ("alice", "bob", "carol")]
            await follow(cluster, carol, alice)
            private = await post(cluster, alice, "followers only", visibility="private")
            direct = await post(cluster, alice, "to carol", visibility="direct", mentions=[carol])
            public = await post(cluster, alice, "to everyone")
            assert (await refused_reply(cluster, bob, private, "bob-private")).kind == "not_found"
            assert (await refused_reply(cluster, bob, direct, "bob-direct")).kind == "not_found"
            for parent in (private, direct, public):
                reply = await post(cluster, carol, "reply", uuid=f"carol-{parent}", in_reply_to=parent)
                assert (await cluster.query(CORE, "status", reply))["in_reply_to"] == parent
            await post(cluster, bob, "before the block", in_reply_to=public)
            await block(cluster, alice, bob)
            assert (await refused_reply(cluster, bob, public, "bob-blocked")).kind == "not_found"
            own = await post(cluster, alice, "own direct", visibility="direct")
            assert (await cluster.query(CORE, "status", await post(cluster, alice, "x", in_reply_to=own)))["author"]

    asyncio.run(scenario())


def test_a_hidden_parent_in_the_replys_group_is_refused_too(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            accounts = await register_many(cluster, 16)
            runtime = cluster.runtime(CORE)
            by_task: dict[int, list[int]] = {}
            for account in accounts:
                by_task.setdefault(runtime.task_of(account), []).append(account)
            task, (alice, bob, *_) = next((t, a) for t, a in sorted(by_task.items()) if len(a) >= 2)
            clock.advance(1_000)
            cluster.controls.pause(CORE, "statuses")
            parent = first_id_at(clock.now_ms()) | task  # ids are deterministic: the one the parent will get
            hidden = {"op": "create", "author": alice, "uuid": "parent", "text": "to nobody", "visibility": "direct"}
            await cluster.append(CORE, "*statuses", hidden, ack=Ack.APPENDED)
            for author, uuid in ((bob, "bob"), (alice, "alice")):
                reply = {"op": "create", "author": author, "uuid": uuid, "text": uuid, "in_reply_to": parent}
                await cluster.append(CORE, "*statuses", reply, ack=Ack.APPENDED)
            cluster.controls.resume(CORE, "statuses")
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "status_id_for_uuid", alice, "parent") == parent
            assert await cluster.query(CORE, "status_id_for_uuid", bob, "bob") is None
            assert await cluster.query(CORE, "status_id_for_uuid", alice, "alice") is not None

    asyncio.run(scenario())
