"""Repeated source records have one effect; a replay of the depots rebuilds the same PStates; the output."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from depots.codec import decode_record
from modules.notifications.grouping import HOUR_MS
from tests.modules.core.content_support import edit, vote
from tests.modules.core.interaction_support import act
from tests.modules.core.support import follow, post, register
from tests.modules.global_timelines.support import dump_pstates
from tests.modules.notifications.support import MODULE, launched, op, received


async def append_again(cluster: InProcessCluster, module: str, depot: str, wanted: dict[str, Any]) -> None:
    """Append a copy of the first record of `depot` that contains `wanted`, as a retried round would."""
    _, log = cluster.runtime(module).depot(depot)
    for partition in range(log.partitions):
        for entry in await log.read(partition, 0, 10_000):
            record = decode_record(entry.payload)
            if isinstance(record, dict) and wanted.items() <= record.items():
                await log.append(partition, entry.payload, cluster.clock.now_ms() + 5).durable
                await cluster.controls.wait_idle()
                return
    raise AssertionError(f"no record with {wanted} in {module}/{depot}")


def test_a_source_record_appended_twice_notifies_once(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "hi")
            await act(cluster, "favourite", bob, status)
            await follow(cluster, bob, alice)
            await post(cluster, bob, "@alice", mentions=[alice])
            before = await received(cluster, alice)
            clock.advance(10)
            await append_again(cluster, "core", "*interactions", {"op": "favourited", "account": bob})
            await append_again(cluster, "relationships", "*follow_events", {"op": "followed", "follower": bob})
            await append_again(cluster, "core", "*statuses_with_id", {"op": "create"})
            assert await received(cluster, alice) == before and len(before) == 3

    asyncio.run(scenario())


def test_a_replayed_older_edit_never_replaces_the_newest_update(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            status = await post(cluster, alice, "v0")
            await act(cluster, "reblog", bob, status)
            for revision in (1, 2):
                clock.advance(1_000)
                await edit(cluster, alice, status, f"v{revision}", f"e-{revision}")
            [newest] = await received(cluster, bob)
            assert (newest["type"], newest["revision"]) == ("update", 2)
            clock.advance(1_000)
            await append_again(cluster, "core", "*statuses_with_id", {"op": "update", "revision": 1})
            await append_again(cluster, "core", "*statuses_with_id", {"op": "update", "revision": 2})
            assert await received(cluster, bob) == [newest]  # neither the older edit nor a repeat took its place
            clock.advance(1_000)
            await edit(cluster, alice, status, "v3", "e-3")
            [latest] = await received(cluster, bob)
            assert latest["revision"] == 3 and latest["id"] > newest["id"]

    asyncio.run(scenario())


def test_the_output_carries_each_new_notification(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            subscription = await cluster.subscribe(MODULE, "notifications")
            await follow(cluster, bob, alice)
            event = await anext(aiter(subscription))
            [stored] = await received(cluster, alice)
            assert event.value == {"account": alice, "notification": stored}
            subscription.close()

    asyncio.run(scenario())


def test_replaying_the_depots_rebuilds_identical_pstates(tmp_path: Path, store_kind: str) -> None:
    """Notifications replays its sources into PStates identical to the live ones.

    Relationships and core keep their state (copied); on the memory store they replay their own depots
    too, and `launched` starts notifications only after they are idle (else it could read who asked to be
    notified of alice's posts before relationships replayed that follow: a `status` notification missing).
    Undoing records (unfavourite, unfollow, dismiss) stay out: on the memory store core and relationships
    append their internal records again as they replay, and a repeat after its undo would notify anew.
    """
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    clock = FakeClock()

    async def live() -> Any:
        async with launched(live_dir, store_kind, clock=clock) as cluster:
            alice, bob, carol, dave = [await register(cluster, name) for name in ("alice", "bob", "carol", "dave")]
            await follow(cluster, carol, alice, notify=True)
            poll = await post(cluster, alice, "pick", poll={"options": ["a", "b"], "expires_in": 10_800})
            for i, account in enumerate((bob, carol, dave)):
                await follow(cluster, account, alice if account == bob else bob)
                status = await post(cluster, account, f"@alice @bob {i}", mentions=[alice, bob])
                await act(cluster, "favourite", alice, status)
                await act(cluster, "reblog", account, poll)
                await act(cluster, "favourite", account, poll)
                await vote(cluster, account, poll, [i % 2])
                clock.advance(HOUR_MS // 3)
            await op(cluster, {"op": "marker", "account": bob, "timeline": "notifications", "last_read_id": 7})
            clock.advance(3 * HOUR_MS)
            await cluster.controls.wait_idle()
            return alice, dump_pstates(cluster.runtime(MODULE)), await received(cluster, alice)

    async def replay(alice: int) -> Any:
        async with launched(replay_dir, store_kind, clock=FakeClock(clock.now_ms()), depots_of=live_dir) as cluster:
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await received(cluster, alice)

    alice, expected, timeline = asyncio.run(live())
    for module in ("relationships", "core"):
        shutil.copytree(live_dir / module, replay_dir / module)
    (replay_dir / MODULE).mkdir(parents=True)
    shutil.copy(live_dir / MODULE / "module.meta", replay_dir / MODULE / "module.meta")
    rebuilt, replayed = asyncio.run(replay(alice))
    assert {n["type"] for n in timeline} == {"mention", "favourite", "reblog", "poll", "follow"}
    assert replayed == timeline
    assert rebuilt == expected
