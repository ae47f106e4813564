"""The search module over real core and relationships: accounts, hashtags, statuses, the directory, replay."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from cluster.testing import FakeClock
from modules.search import Search
from tests.modules.core.support import delete, follow, post, register
from tests.modules.global_timelines.support import dump_pstates, launched_with
from topology.context import RecordRejected

MODULE = "search"


def test_accounts_by_prefix_of_username_and_display_name_ranked(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Search()) as cluster:
            ann = await register(cluster, "ann", display_name="Ann Smith")
            anna = await register(cluster, "Anna")
            bob = await register(cluster, "bob", display_name="Annie B")
            smithy = await register(cluster, "smithy")
            with pytest.raises(RecordRejected, match="taken"):
                await register(cluster, "ANN", uuid="another", display_name="Annalise")  # refused: not indexed
            await cluster.controls.wait_idle()
            assert await cluster.query(MODULE, "accounts", "ann") == [ann, anna, bob]
            assert await cluster.query(MODULE, "accounts", "@ANNA") == [anna]
            assert await cluster.query(MODULE, "accounts", "smith") == [ann, smithy]  # an exact word before a prefix
            assert await cluster.query(MODULE, "accounts", "ann smi") == [ann]  # every word must match
            assert await cluster.query(MODULE, "accounts", "ann", limit=1, offset=1) == [anna]
            await follow(cluster, smithy, bob)
            assert await cluster.query(MODULE, "accounts", "ann", smithy) == [bob, ann, anna]  # followed first
            await cluster.append("core", "*accounts", {"op": "update", "account": bob, "display_name": "Robert"})
            await cluster.controls.wait_idle()
            assert await cluster.query(MODULE, "accounts", "ann") == [ann, anna]
            assert await cluster.query(MODULE, "accounts", "rob") == [bob]
            assert await cluster.query(MODULE, "accounts", "zed") == []

    asyncio.run(scenario())


def test_hashtags_by_prefix_exact_first_then_recent(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Search(), clock=clock) as cluster:
            alice = await register(cluster, "alice")
            await post(cluster, alice, "#pythonista first")
            clock.advance(10)
            await post(cluster, alice, "#Python then #pyramids")
            clock.advance(10)
            await post(cluster, alice, "#pytorch secretly", visibility="private")  # not discoverable
            await cluster.controls.wait_idle()
            assert await cluster.query(MODULE, "hashtags", "#PY") == ["python", "pyramids", "pythonista"]
            assert await cluster.query(MODULE, "hashtags", "python") == ["python", "pythonista"]
            assert await cluster.query(MODULE, "hashtags", "zz") == []

    asyncio.run(scenario())


def test_statuses_only_within_own_and_mentioned_ones_and_deleted_ones_drop(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Search(), clock=clock) as cluster:
            alice, bob, carol = [await register(cluster, n) for n in ("alice", "bob", "carol")]
            own = await post(cluster, alice, "Elephants are great")
            clock.advance(5)
            mention = await post(cluster, bob, "hey alice, elephants!", mentions=[alice])
            clock.advance(5)
            await post(cluster, carol, "elephants elsewhere")  # public, but not alice's to search
            clock.advance(5)
            doomed = await post(cluster, alice, "elephants, deleted soon")
            await cluster.controls.wait_idle()
            assert await cluster.query(MODULE, "statuses", alice, "ELEPHANTS") == [doomed, mention, own]
            assert await cluster.query(MODULE, "statuses", alice, "elephants great") == [own]
            assert await cluster.query(MODULE, "statuses", bob, "elephants") == [mention]
            assert await cluster.query(MODULE, "statuses", alice, "elephants", limit=1, offset=1) == [mention]
            await delete(cluster, alice, doomed)
            await cluster.controls.wait_idle()
            assert await cluster.query(MODULE, "statuses", alice, "elephants") == [mention, own]

    asyncio.run(scenario())


def test_directory_orders_new_and_active(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        async with launched_with(tmp_path, store_kind, Search(), clock=clock) as cluster:
            accounts = []
            for name in ("first", "second", "third"):
                accounts.append(await register(cluster, name))
                clock.advance(10)
            first, second, third = accounts
            await post(cluster, second, "one")
            clock.advance(10)
            await post(cluster, first, "two")
            clock.advance(10)
            await post(cluster, second, "three")
            await cluster.controls.wait_idle()
            assert await cluster.query(MODULE, "directory", "new") == [third, second, first]
            assert await cluster.query(MODULE, "directory", "active") == [second, first]  # third never posted
            assert await cluster.query(MODULE, "directory", "active", True, 1, 1) == [first]
            assert await cluster.query(MODULE, "directory", "new", True, 2) == [third, second]

    asyncio.run(scenario())


def test_replaying_core_depots_rebuilds_identical_indexes(tmp_path: Path, store_kind: str) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    clock = FakeClock()

    async def live() -> Any:
        async with launched_with(live_dir, store_kind, Search(), clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}", display_name=f"Name {i % 3}") for i in range(6)]
            for i in range(24):
                text = f"word{i % 5} #tag{i % 3} shared"
                await post(cluster, accounts[i % 6], text, uuid=f"s{i}", mentions=[accounts[(i + 1) % 6]])
                clock.advance(7)
                if i % 5 == 4:
                    await cluster.append(
                        "core", "*accounts", {"op": "update", "account": accounts[i % 6], "display_name": f"New {i}"}
                    )
                    await cluster.controls.wait_idle()
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await cluster.query(MODULE, "accounts", "new")

    async def replay() -> Any:
        async with launched_with(
            replay_dir, store_kind, Search(), clock=FakeClock(clock.now_ms()), depots_of=live_dir
        ) as cluster:
            await cluster.controls.wait_idle()
            return dump_pstates(cluster.runtime(MODULE)), await cluster.query(MODULE, "accounts", "new")

    expected, found = asyncio.run(live())
    for module in ("relationships", "core"):
        shutil.copytree(live_dir / module, replay_dir / module)
    (replay_dir / MODULE).mkdir(parents=True)
    shutil.copy(live_dir / MODULE / "module.meta", replay_dir / MODULE / "module.meta")
    rebuilt, replayed = asyncio.run(replay())
    assert len(found) == 4
    assert replayed == found
    assert rebuilt == expected
