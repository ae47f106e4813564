"""Rebuilding every PState from the depots from offset 0 gives byte-identical contents."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from cluster.client import Ack
from cluster.runtime import ModuleRuntime
from modules.examples.ledger import Ledger
from tests.runtimes import Runtime, new_cluster


def dump_pstates(runtime: ModuleRuntime) -> dict[tuple[int, str], list[tuple[bytes, bytes]]]:
    """Every PState column of every task, as raw bytes."""
    dump = {}
    for task, store in runtime.stores.items():
        for name in runtime.definition.pstate_specs():
            dump[(task, name)] = list(store.range(store.column(name)))
    return dump


def test_replaying_the_depots_rebuilds_identical_pstates(tmp_path: Path, runtime: Runtime) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"

    async def live() -> dict[tuple[int, str], list[tuple[bytes, bytes]]]:
        rng = random.Random(3)
        async with new_cluster(live_dir) as cluster:
            runtime = await cluster.launch(Ledger(), tasks=4)
            for i in range(1, 400):
                record = {"id": i, "account": f"acct{rng.randrange(9)}", "amount": rng.randint(-9, 9) or 1}
                ack = Ack.PROCESSED if i % 50 == 0 else Ack.NONE  # varied batch boundaries on the live run
                await cluster.append("ledger", "*transfers", record, ack=ack)
            await cluster.controls.wait_idle()
            return dump_pstates(runtime)

    async def replay() -> dict[tuple[int, str], list[tuple[bytes, bytes]]]:
        async with new_cluster(replay_dir, depots_of=live_dir) as cluster:
            runtime = await cluster.launch(Ledger(), tasks=4)
            await cluster.controls.wait_idle()
            return dump_pstates(runtime)

    expected = asyncio.run(live())
    # The replay reads the live cluster's depots from offset 0 and starts with no PState at all.
    rebuilt = asyncio.run(replay())
    assert sum(len(rows) for rows in expected.values()) > 400
    assert rebuilt == expected
