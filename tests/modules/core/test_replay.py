"""Core's inputs, appended again in their order into a fresh cluster, rebuild byte-identical PStates.

Not a replay from offset 0: core's topologies read one another's state and a replay runs them at their own
pace, so such a replay refuses favourites of statuses not replayed yet and replies to parents on partitions
behind (docs/engine.md, Determinism). What core itself must guarantee is checked here: the same inputs in
the same order give the same bytes, on every PState and every task.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from depots.codec import decode_record
from tests.modules.core.content_support import edit, vote
from tests.modules.core.interaction_support import act
from tests.modules.core.support import CORE, RELATIONSHIPS, delete, follow, post, register
from tests.modules.global_timelines.support import Dump, dump_pstates, launched_with
from topology.context import RecordRejected

ACCOUNTS = 8
STEPS = 120


class Workload:
    """A seeded mix of core's records, applied one at a time (each processed before the next)."""

    def __init__(self, cluster: InProcessCluster, clock: FakeClock, accounts: list[int], seed: int) -> None:
        self.cluster, self.clock, self.accounts = cluster, clock, accounts
        self.rng = random.Random(seed)
        self.statuses: list[tuple[int, int]] = []  # (author, id) of the live statuses
        self.polls: list[int] = []
        self.done: dict[str, int] = {}

    async def run(self, steps: int) -> None:
        """Apply `steps` records; count the accepted ones by kind in `done`."""
        for step in range(steps):
            kind = self.rng.choice(KINDS) if len(self.statuses) > 3 else "post"
            with contextlib.suppress(RecordRejected):  # a pin over the limit, a second single-choice vote...
                await getattr(self, kind)(step)
                self.done[kind] = self.done.get(kind, 0) + 1
            await self.cluster.controls.wait_idle()
            self.clock.advance(self.rng.randrange(1, 4_000))

    def someone(self) -> int:
        return self.rng.choice(self.accounts)

    def some_status(self) -> tuple[int, int]:
        return self.rng.choice(self.statuses)

    async def post(self, step: int) -> None:
        author = self.someone()
        visibility = self.rng.choice(("public", "public", "unlisted", "private", "direct"))
        mentions = [self.someone()] if visibility == "direct" or self.rng.random() < 0.3 else []
        text = f"#topic{step % 4} status {step}"
        status = await post(self.cluster, author, text, uuid=f"p{step}", visibility=visibility, mentions=mentions)
        self.statuses.append((author, status))

    async def reply(self, step: int) -> None:
        author, (_, parent) = self.someone(), self.some_status()
        status = await post(self.cluster, author, f"reply {step}", uuid=f"r{step}", in_reply_to=parent)
        self.statuses.append((author, status))

    async def poll(self, step: int) -> None:
        author, spec = self.someone(), {"options": ["yes", "no", "maybe"], "expires_in": 600}
        status = await post(self.cluster, author, f"poll {step}", uuid=f"q{step}", poll=spec)
        self.statuses.append((author, status))
        self.polls.append(status)

    async def vote(self, step: int) -> None:
        if self.polls:
            await vote(self.cluster, self.someone(), self.rng.choice(self.polls), [self.rng.randrange(3)])

    async def interact(self, step: int) -> None:
        op = self.rng.choice(("favourite", "unfavourite", "bookmark", "unbookmark", "reblog", "unreblog"))
        await act(self.cluster, op, self.someone(), self.some_status()[1])

    async def pin(self, step: int) -> None:
        author, status = self.some_status()
        await act(self.cluster, self.rng.choice(("pin", "pin", "unpin")), author, status)

    async def edit(self, step: int) -> None:
        author, status = self.some_status()
        await edit(self.cluster, author, status, f"edited {step}", uuid=f"e{step}")

    async def delete(self, step: int) -> None:
        author, status = self.statuses.pop(self.rng.randrange(len(self.statuses)))
        self.polls = [p for p in self.polls if p != status]
        await delete(self.cluster, author, status)


KINDS = ("post", "post", "reply", "poll", "vote", "interact", "interact", "interact", "pin", "edit", "delete")
Input = tuple[int, str, str, Any]  # (append time, module, depot, record)


async def inputs_of(cluster: InProcessCluster) -> list[Input]:
    """Every record appended to relationships' and core's client depots, in append-time order."""
    found: list[Input] = []
    for module in (RELATIONSHIPS, CORE):
        runtime = cluster.runtime(module)
        for name, log in runtime.logs.items():
            if runtime.depot(name)[0].is_internal:
                continue  # internal and tick depots: the topologies append them again
            for partition in range(log.partitions):
                for entry in await log.read(partition, 0, 1_000_000):
                    found.append((entry.timestamp_ms, module, name, decode_record(entry.payload)))
    found.sort(key=lambda item: item[0])
    return found


async def settled(cluster: InProcessCluster, clock: FakeClock) -> None:
    """Let every topology finish, then move the clock on: no two records share an append time."""
    await cluster.controls.wait_idle()
    clock.advance(1)


def test_replaying_cores_inputs_in_order_rebuilds_identical_pstates(tmp_path: Path, store_kind: str) -> None:
    """The records of every client depot, appended again in their order into a fresh cluster.

    Each record is processed (downstream too) before the next, live and in the replay, so both runs see
    one order: what differs would be core's own doing (a wall clock, an id not from the record's time,
    an effect that depends on a retry). Rejected records are in the depots and are rejected again.
    """
    start = FakeClock().now_ms()

    async def live() -> tuple[Dump, dict[str, int], list[Input], int]:
        clock = FakeClock(start)
        async with launched_with(tmp_path / "live", store_kind, clock=clock) as cluster:
            accounts = []
            for i in range(ACCOUNTS):
                accounts.append(await register(cluster, f"user{i}"))
                await settled(cluster, clock)
            for i, account in enumerate(accounts):
                for other in accounts[i + 1 : i + 4]:
                    await follow(cluster, account, other)
                    await settled(cluster, clock)
            workload = Workload(cluster, clock, accounts, seed=3)
            await workload.run(STEPS)
            clock.advance(3_600_000)  # every poll ends
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(CORE)), workload.done, await inputs_of(cluster), clock.now_ms()

    async def replay(inputs: list[Input], end_ms: int) -> Dump:
        clock = FakeClock(start)
        async with launched_with(tmp_path / "replay", store_kind, clock=clock) as cluster:
            for time_ms, module, depot, record in inputs:
                clock.advance(time_ms - clock.now_ms())
                with contextlib.suppress(RecordRejected):
                    await cluster.append(module, depot, record)
                await cluster.controls.wait_idle()
            clock.advance(end_ms - clock.now_ms())
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(CORE))

    expected, done, inputs, end_ms = asyncio.run(live())
    rebuilt = asyncio.run(replay(inputs, end_ms))
    assert set(done) == {"post", "reply", "poll", "vote", "interact", "pin", "edit", "delete"}, done
    assert len(inputs) > STEPS
    assert {name for (_, name), rows in expected.items() if rows} >= {"$$favourited_by", "$$poll_votes", "$$replies"}
    differing = {key[1] for key in expected.keys() | rebuilt.keys() if expected.get(key) != rebuilt.get(key)}
    assert sorted(differing) == []  # names first: a readable failure
    assert rebuilt == expected
