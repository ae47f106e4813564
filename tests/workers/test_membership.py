"""Group membership keeps its seat while the worker's main loop is blocked (topology code waiting on a read).

The consumer heartbeats from a thread of its own (`cluster.workers.membership`). Here member A is started
from the test's event loop, the one a worker's topologies run on, and that loop is then blocked for longer
than the session timeout; member B runs on another loop and heartbeats throughout. Had A's consumer been on
the blocked loop, the coordinator would have dropped A and given B every task, then rebalanced again when A
came back: both would get new assignments.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cluster.depot_storage import KafkaStorage
from cluster.workers.assignor import RoutingTable
from cluster.workers.concurrency import LoopThread
from cluster.workers.membership import GroupSettings, Membership
from tests.workers.support import namespace_for, poll_until

SETTINGS = GroupSettings(session_timeout_ms=3_000, heartbeat_interval_ms=300)
SESSION_S = SETTINGS.session_timeout_ms / 1000
TASKS = 2


@dataclass
class Seat:
    """One member's assignments, and the threads its callbacks ran on."""

    owned: list[frozenset[int]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)

    def on_change(self, owned: frozenset[int], _routing: RoutingTable) -> None:
        """Record an assignment."""
        self.threads.add(threading.current_thread().name)
        self.owned.append(owned)


async def join(storage: KafkaStorage, seat: Seat, address: str) -> Membership:
    """Join the group as a member at `address` (on the running loop)."""
    member = Membership(await storage.session(), storage.namespace, TASKS, address, seat.on_change, SETTINGS)
    await member.start()
    return member


async def watch_for_new_assignments(seats: list[Seat]) -> None:
    """Fail if any seat is assigned again within the window a dropped member needs to be noticed and rejoin."""
    counts = [len(seat.owned) for seat in seats]
    loop = asyncio.get_running_loop()
    window_ends = loop.time() + 2 * SESSION_S
    while loop.time() < window_ends:
        assert [len(seat.owned) for seat in seats] == counts, [seat.owned for seat in seats]
        await asyncio.sleep(0.05)  # a bounded observation window, not a synchronizing sleep


def test_a_member_keeps_its_tasks_while_the_main_loop_is_blocked_past_the_session_timeout(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    seat_a, seat_b = Seat(), Seat()

    async def split() -> list[frozenset[int]]:
        return [seat.owned[-1] if seat.owned else frozenset() for seat in (seat_a, seat_b)]

    async def scenario() -> None:
        here = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        elsewhere = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path))
        other_loop = LoopThread("other-worker")
        member_a = await join(here, seat_a, "127.0.0.1:1")
        member_b = await other_loop.run(join(elsewhere, seat_b, "127.0.0.1:2"))
        try:
            await poll_until(split, lambda owned: all(len(tasks) == 1 for tasks in owned), 60, "one task each")
            time.sleep(2 * SESSION_S)  # on purpose: this loop blocked, as by a read of a dead worker's task
            await watch_for_new_assignments([seat_a, seat_b])
        finally:
            await member_a.stop()
            await other_loop.run(member_b.stop())
            await other_loop.run(elsewhere.close())
            await other_loop.stop()
            await here.close()

    asyncio.run(scenario())
    assert seat_a.threads == {"tusk-membership"}  # the consumer's callbacks never ran on the blocked loop
