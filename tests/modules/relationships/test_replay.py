"""Replaying the relationships depots from offset 0 rebuilds byte-identical PStates."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.runtime import ModuleRuntime
from modules.relationships import Relationships
from tests.modules.relationships.support import MODULE
from tests.runtimes import new_cluster

Dump = dict[tuple[int, str], list[tuple[bytes, bytes]]]


def dump_pstates(runtime: ModuleRuntime) -> Dump:
    """Every PState column of every task, as raw bytes."""
    return {
        (task, name): list(store.range(store.column(name)))
        for task, store in enumerate(runtime.stores)
        for name in runtime.definition.pstate_specs()
    }


def workload(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Follows, unfollows, mutes and notes among 40 accounts.

    Records of one pair all start on the same partition here (the follower's, the muter's, the author's),
    so no outcome depends on how partitions interleave; blocks, locks and remove_follower would (a block
    and a follow of the same pair start on different tasks), and so would a bucket past its capacity.
    """
    records: list[tuple[str, dict[str, Any]]] = []
    for _ in range(600):
        a, b = rng.sample(range(1, 41), 2)
        kind = rng.random()
        if kind < 0.6:
            options = {"reblogs": rng.random() < 0.5, "languages": rng.choice([None, ["en"], ["de", "fr"]])}
            records.append(("*follows", {"op": "follow", "follower": a, "followee": b, **options}))
        elif kind < 0.8:
            records.append(("*follows", {"op": "unfollow", "follower": a, "followee": b}))
        elif kind < 0.9:
            records.append(("*mutes", {"op": "mute", "muter": a, "muted": b, "duration_s": rng.choice([None, 60])}))
        else:
            records.append(("*notes", {"author": a, "target": b, "comment": rng.choice(["", "hi", "friend"])}))
    return records


def test_replaying_the_depots_rebuilds_identical_pstates(tmp_path: Path, store_kind: str) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"

    async def live() -> Dump:
        async with new_cluster(live_dir, store=store_kind) as cluster:
            runtime = await cluster.launch(Relationships(), tasks=4)
            for i, (depot, record) in enumerate(workload(random.Random(5))):
                ack = Ack.PROCESSED if i % 40 == 0 else Ack.NONE  # varied group boundaries on the live run
                await cluster.append(MODULE, depot, record, ack=ack)
            await cluster.controls.wait_idle()
            return dump_pstates(runtime)

    async def replay() -> Dump:
        async with new_cluster(replay_dir, store=store_kind, depots_of=live_dir) as cluster:
            runtime = await cluster.launch(Relationships(), tasks=4)
            await cluster.controls.wait_idle()
            return dump_pstates(runtime)

    expected = asyncio.run(live())
    rebuilt = asyncio.run(replay())
    assert sum(len(rows) for (_, name), rows in expected.items() if name == "$$partitioned_followers") > 50
    assert rebuilt == expected
