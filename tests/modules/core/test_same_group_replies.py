"""A reply processed in the same stream group as its parent (not committed yet) is accepted in that group.

Before, the reply was refused there; the engine then re-ran the group record by record, which accepted it
but appended the group's internal records (`*statuses_with_id`) a second time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.core.ids import first_id_at
from tests.modules.core.content_support import depot_records
from tests.modules.core.support import CORE, launched, register


async def append_create(cluster: InProcessCluster, author: int, uuid: str, **fields: object) -> None:
    """Append a create without waiting for it to be processed."""
    record = {"op": "create", "author": author, "uuid": uuid, "text": uuid, **fields}
    await cluster.append(CORE, "*statuses", record, ack=Ack.APPENDED)


def test_a_reply_in_its_parents_group_is_accepted(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice = await register(cluster, "alice")
            clock.advance(1_000)
            cluster.controls.pause(CORE, "statuses")
            task = cluster.runtime(CORE).task_of(alice)
            parent = first_id_at(clock.now_ms()) | task  # the id the parent will get: ids are deterministic
            await append_create(cluster, alice, "parent")
            await append_create(cluster, alice, "reply", in_reply_to=parent)
            cluster.controls.resume(CORE, "statuses")
            await cluster.controls.wait_idle()
            creates = [r for r in await depot_records(cluster, "*statuses_with_id") if r["op"] == "create"]
            assert len(creates) == 2  # one group, no re-run: each create passed on once
            reply = await cluster.query(CORE, "status_id_for_uuid", alice, "reply")
            assert await cluster.query(CORE, "status_id_for_uuid", alice, "parent") == parent
            assert reply is not None, "the reply was refused"
            found = await cluster.query(CORE, "status", reply)
            assert (found["in_reply_to"], found["conversation"], found["in_reply_to_account"]) == (
                parent,
                parent,
                alice,
            )
            assert await cluster.query(CORE, "context", alice, parent) == {"ancestors": [], "descendants": [reply]}
            await append_create(cluster, alice, "reply to nothing", in_reply_to=parent + 4_096)
            await cluster.controls.wait_idle()
            assert await cluster.query(CORE, "status_id_for_uuid", alice, "reply to nothing") is None

    asyncio.run(scenario())
