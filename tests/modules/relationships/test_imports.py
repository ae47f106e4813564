"""Following-list imports (`import_follows`): the same facts as one `follow` per target, in bulk."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from modules.relationships.imports import MAX_IMPORT_TARGETS
from tests.modules.relationships.support import (
    MODULE,
    append,
    block,
    event_records,
    follow,
    launched,
    relationship,
    set_locked,
)
from tests.modules.relationships.test_replay import dump_pstates
from topology.context import RecordRejected

LOCKED, BLOCKER, FOLLOWER_OF_5 = 3, 7, 11


def follow_lists(seed: int) -> list[tuple[int, list[int]]]:
    """Thirty followers, each with a shuffled list of targets among 40 accounts (sometimes itself)."""
    rng = random.Random(seed)
    lists = [(f, rng.sample(range(1, 41), rng.randint(1, 25))) for f in range(1, 31)]
    lists[0][1].extend(t for t in (LOCKED, BLOCKER) if t not in lists[0][1])  # follower 1 meets both rules
    lists[FOLLOWER_OF_5 - 1][1].extend([5] if 5 not in lists[FOLLOWER_OF_5 - 1][1] else [])
    return lists


async def prepare(cluster: Any) -> None:
    """A locked account, a block, and a follow whose options the import overrides."""
    await set_locked(cluster, LOCKED, True)
    await block(cluster, BLOCKER, 1)
    await follow(cluster, FOLLOWER_OF_5, 5, reblogs=False, notify=True)


def test_an_import_writes_what_one_follow_per_target_writes(tmp_path: Path, store_kind: str) -> None:
    lists = follow_lists(seed=3)

    async def one_by_one() -> tuple[Any, list[dict[str, Any]]]:
        async with launched(tmp_path / "single", store_kind) as cluster:
            await prepare(cluster)
            for follower, targets in lists:
                for target in targets:
                    record = {"op": "follow", "follower": follower, "followee": target, "languages": ["en"]}
                    if target != follower and {follower, target} != {BLOCKER, 1}:
                        await append(cluster, "*follows", record)
            return dump_pstates(cluster.runtime(MODULE)), await event_records(cluster)

    async def imported() -> tuple[Any, list[dict[str, Any]]]:
        async with launched(tmp_path / "import", store_kind) as cluster:
            await prepare(cluster)
            for follower, targets in lists:
                record = {"op": "import_follows", "follower": follower, "followees": targets, "languages": ["en"]}
                await append(cluster, "*follows", record)
            rel = await relationship(cluster, FOLLOWER_OF_5, 5)
            assert (rel["showing_reblogs"], rel["notifying"], rel["languages"]) == (False, True, ["en"])
            assert (await relationship(cluster, 1, LOCKED))["requested"]
            assert not (await relationship(cluster, 1, BLOCKER))["following"]
            return dump_pstates(cluster.runtime(MODULE)), await event_records(cluster)

    single_state, single_events = asyncio.run(one_by_one())
    import_state, import_events = asyncio.run(imported())
    assert import_state == single_state
    key = lambda e: (e["op"], e["follower"], e["followee"])  # noqa: E731
    assert sorted(map(key, import_events)) == sorted(map(key, single_events))
    assert any(e["op"] == "requested" for e in import_events)


def test_importing_twice_changes_nothing(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            record = {"op": "import_follows", "follower": 1, "followees": [2, 3, 4, 3, 1]}
            await append(cluster, "*follows", record)
            before = dump_pstates(cluster.runtime(MODULE))
            await append(cluster, "*follows", record)
            assert dump_pstates(cluster.runtime(MODULE)) == before
            assert await cluster.query(MODULE, "counts", 1) == {"followers_count": 0, "following_count": 3}
            events = await event_records(cluster)
            assert sorted((e["op"], e["followee"]) for e in events) == [("followed", t) for t in (2, 3, 4)]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"follower": "1", "followees": [2]}, "follower must be"),
        ({"follower": 1, "followees": [2, "3"]}, "followees must be"),
        ({"follower": 1, "followees": 2}, "followees must be"),
        ({"follower": 1, "followees": list(range(2, MAX_IMPORT_TARGETS + 3))}, "at most"),
        ({"follower": 1, "followees": [2], "languages": "en"}, "languages"),
    ],
)
def test_malformed_imports_are_rejected_whole(
    tmp_path: Path, store_kind: str, record: dict[str, Any], reason: str
) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match=reason):
                await append(cluster, "*follows", {"op": "import_follows", **record})
            assert await cluster.query(MODULE, "counts", 1) == {"followers_count": 0, "following_count": 0}

    asyncio.run(scenario())
