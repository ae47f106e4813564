"""Every new kind of record appended twice in one go (one stream group) has one effect."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.content_support import MINUTE_MS, upload
from tests.modules.core.support import CORE, launched, post, register


async def twice(cluster: InProcessCluster, depot: str, record: dict[str, Any]) -> list[Any]:
    """Append `record` twice back to back and return both results."""
    return [result.value for result in await cluster.append_many(CORE, depot, [record, record])]


def test_duplicated_records_have_one_effect(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            media = await twice(cluster, "*media", {"op": "create", "account": alice, "uuid": "m", "type": "image"})
            assert media[0] == media[1]
            spec = {"options": ["a", "b"], "expires_in": 600}
            create = {"op": "create", "author": bob, "uuid": "p", "text": "q", "poll": spec}
            polled = await twice(cluster, "*statuses", create)
            assert polled[0] == polled[1] and await cluster.query(CORE, "author_statuses", bob) == [polled[0]]
            vote = {"op": "vote", "account": alice, "poll": polled[0], "choices": [1], "uuid": "v"}
            assert await twice(cluster, "*poll_votes", vote) == [polled[0]] * 2  # the uuid tells a retry
            assert (await cluster.query(CORE, "poll", alice, polled[0]))["votes_count"] == 1
            pictured = await post(cluster, alice, "pic", media=[media[0]])
            edit = {"op": "edit", "author": alice, "id": pictured, "uuid": "e", "text": "pic!", "media": [media[0]]}
            await twice(cluster, "*statuses", edit)
            assert len(await cluster.query(CORE, "status_history", pictured)) == 2
            another = await upload(cluster, alice, "m2")
            reply = {"op": "create", "author": alice, "uuid": "r", "text": "re", "in_reply_to": polled[0]}
            await twice(cluster, "*statuses", {**reply, "media": [another]})
            context = await cluster.query(CORE, "context", None, polled[0])
            assert len(context["descendants"]) == 1
            at = clock.now_ms() + 10 * MINUTE_MS
            scheduled = {"op": "schedule", "author": alice, "uuid": "s", "scheduled_at": at, "params": {"text": "x"}}
            ids = await twice(cluster, "*statuses", scheduled)
            assert ids[0] == ids[1] and len(await cluster.query(CORE, "scheduled_statuses", alice)) == 1
            dm = {"op": "create", "author": bob, "uuid": "d", "text": "dm", "visibility": "direct", "mentions": [alice]}
            await twice(cluster, "*statuses", dm)
            await cluster.controls.wait_idle()
            [conversation] = await cluster.query(CORE, "direct_conversations", alice)
            assert len(conversation["statuses"]) == 1

    asyncio.run(scenario())
