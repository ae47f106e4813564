"""A replay of core's depots from offset 0 issues the same status and boost ids as the live run.

Live, every record is processed before the next, so statuses and boosts interleave on each task; the
replay processes each depot partition in one group, every `*statuses` group before any `*reblogs` one.
Ids that came from a clock shared by both depots differed then; they come from the record's own time and
a clock per depot and task now, so the statuses topology's PStates are the same bytes.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from tests.modules.core.interaction_support import act
from tests.modules.core.support import CORE, post, register
from tests.modules.global_timelines.support import Dump, dump_pstates, launched_with
from topology.context import RecordRejected

# The statuses topology's PStates that statuses and boosts write (the workload has no media, polls,
# edits, replies or scheduled statuses), and the accounts they need.
COMPARED = (
    "$$statuses",
    "$$status_by_uuid",
    "$$author_statuses",
    "$$status_id_clock",
    "$$boost_of",
    "$$reblogged_by",
    "$$author_direct_statuses",
    "$$accounts",
    "$$id_clock",
)
ACCOUNTS = 6
STEPS = 80


async def workload(cluster: InProcessCluster, clock: FakeClock, accounts: list[int]) -> int:
    """Post, boost and unboost at random, often in the same millisecond; return how many boosts held."""
    rng = random.Random(7)
    statuses: list[int] = []
    boosts = 0
    for step in range(STEPS):
        account = rng.choice(accounts)
        if len(statuses) < 3 or rng.random() < 0.45:
            visibility = rng.choice(("public", "public", "unlisted", "direct"))
            statuses.append(await post(cluster, account, f"status {step}", uuid=f"s{step}", visibility=visibility))
        else:
            op = "reblog" if rng.random() < 0.8 else "unreblog"
            try:
                await act(cluster, op, account, rng.choice(statuses))
                boosts += op == "reblog"
            except RecordRejected:  # a direct status, or one's own boost of a boost...
                pass
        if rng.random() < 0.6:  # else the next record shares this millisecond
            clock.advance(rng.randrange(1, 50))
    return boosts


def compared(dump: Dump) -> Dump:
    """The part of a dump this test holds to byte identity."""
    return {key: rows for key, rows in dump.items() if key[1] in COMPARED}


def test_a_replay_from_offset_zero_issues_the_same_status_and_boost_ids(tmp_path: Path, store_kind: str) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    start = FakeClock().now_ms()

    async def live() -> tuple[Dump, int]:
        clock = FakeClock(start)
        async with launched_with(live_dir, store_kind, clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}") for i in range(ACCOUNTS)]
            clock.advance(1)
            boosts = await workload(cluster, clock, accounts)
            await cluster.controls.wait_idle()
            return compared(dump_pstates(cluster.runtime(CORE))), boosts

    async def replay() -> Dump:
        async with launched_with(replay_dir, store_kind, clock=FakeClock(start), depots_of=live_dir) as cluster:
            # Registrations first (statuses need their author): the runners start at the next await.
            cluster.controls.pause(CORE, "statuses")
            await cluster.controls.wait_idle()
            cluster.controls.resume(CORE, "statuses")
            await cluster.controls.wait_idle()
            return compared(dump_pstates(cluster.runtime(CORE)))

    expected, boosts = asyncio.run(live())
    rebuilt = asyncio.run(replay())
    assert boosts > 10
    assert sum(len(rows) for (_, name), rows in expected.items() if name == "$$boost_of") > 0
    differing = sorted({key[1] for key in expected.keys() | rebuilt.keys() if expected.get(key) != rebuilt.get(key)})
    assert differing == []  # names first: a readable failure
    assert rebuilt == expected
