"""Replaying the relationships depots from offset 0 rebuilds byte-identical PStates."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from cluster.runtime import ModuleRuntime
from modules.relationships import Relationships
from tests.modules.relationships.support import MODULE
from tests.runtimes import REPLAY_FROM_ZERO, new_cluster, skip_on_workers
from topology.context import RecordRejected

Dump = dict[tuple[int, str], list[tuple[bytes, bytes]]]


def dump_pstates(runtime: ModuleRuntime) -> Dump:
    """Every PState column of every task, as raw bytes."""
    return {
        (task, name): list(store.range(store.column(name)))
        for task, store in runtime.stores.items()
        for name in runtime.definition.pstate_specs()
    }


def workload(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Follows, unfollows, mutes, notes, endorsements, lists, followed tags, filters among 40 accounts.

    Records of one pair all start on the same partition here (the follower's, the muter's, the author's,
    a list's owner's), so no outcome depends on how partitions interleave; blocks, locks and
    remove_follower would (a block and a follow of the same pair start on different tasks), and so would
    a bucket past its capacity.
    """
    records: list[tuple[str, dict[str, Any]]] = []
    for _ in range(900):
        a, b = rng.sample(range(1, 41), 2)
        kind = rng.random()
        if kind < 0.45:
            options = {"reblogs": rng.random() < 0.5, "languages": rng.choice([None, ["en"], ["de", "fr"]])}
            records.append(("*follows", {"op": "follow", "follower": a, "followee": b, **options}))
        elif kind < 0.6:
            records.append(("*follows", {"op": "unfollow", "follower": a, "followee": b}))
        elif kind < 0.67:
            records.append(("*mutes", {"op": "mute", "muter": a, "muted": b, "duration_s": rng.choice([None, 60])}))
        elif kind < 0.72:
            records.append(("*notes", {"author": a, "target": b, "comment": rng.choice(["", "hi", "friend"])}))
        else:
            records.extend(feature_records(rng, a, b))
    return records


def feature_records(rng: random.Random, a: int, b: int) -> list[tuple[str, dict[str, Any]]]:
    """Records of the newer features by `a` about `b`; some are rejected (not following), as in real use."""
    if rng.random() < 0.4:  # follow first, so that endorsing and listing `b` can succeed
        follow = ("*follows", {"op": "follow", "follower": a, "followee": b})
        return [follow, feature_record(rng, a, b, rng.randrange(3))]
    return [feature_record(rng, a, b, rng.randrange(7))]


def feature_record(rng: random.Random, a: int, b: int, kind: int) -> tuple[str, dict[str, Any]]:
    """One record of kind `kind` of the newer features, by `a` about `b`."""
    if kind == 0:
        return ("*follows", {"op": rng.choice(["endorse", "unendorse"]), "account": a, "target": b})
    if kind == 1:
        uuid = f"list-{rng.randrange(3)}"  # repeats: idempotent creates
        return (
            "*follows",
            {"op": "list_create", "owner": a, "uuid": uuid, "title": uuid, "exclusive": rng.random() < 0.5},
        )
    if kind == 2:
        # List ids are time-ordered and unknown here: name the owner's list by its position instead.
        return ("*follows", {"op": "list_add", "owner": a, "list_id": -1 - rng.randrange(3), "accounts": [b]})
    if kind == 3:
        return ("*followed_tags", {"op": rng.choice(["follow", "unfollow"]), "account": a, "tag": f"t{b % 5}"})
    if kind == 4:
        fields = {"title": "f", "context": ["home"], "expires_in": rng.choice([None, 600])}
        return (
            "*filters",
            {"op": "create", "account": a, "uuid": f"f{b % 3}", **fields, "keywords": [{"keyword": "k"}]},
        )
    if kind == 5:
        return ("*suggestions", {"op": "dismiss", "account": a, "target": b})
    return ("*filters", {"op": "add_status", "account": a, "filter_id": -1 - rng.randrange(2), "status_id": b})


async def with_real_ids(cluster: InProcessCluster, record: dict[str, Any]) -> dict[str, Any] | None:
    """Replace a placeholder list or filter id (-n: the owner's n-th) by the real one; None if there is none."""
    for field, query, owner in (("list_id", "lists", "owner"), ("filter_id", "filters", "account")):
        if record.get(field, 0) < 0:
            found = await cluster.query(MODULE, query, record[owner])
            index = -record[field] - 1
            return {**record, field: found[index]["id"]} if index < len(found) else None
    return record


def test_replaying_the_depots_rebuilds_identical_pstates(tmp_path: Path, store_kind: str) -> None:
    skip_on_workers(REPLAY_FROM_ZERO)
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"

    async def live() -> Dump:
        async with new_cluster(live_dir, store=store_kind) as cluster:
            runtime = await cluster.launch(Relationships(), tasks=4)
            for i, (depot, record) in enumerate(workload(random.Random(5))):
                ack = Ack.PROCESSED if i % 40 == 0 or "create" in record.get("op", "") else Ack.NONE
                resolved = await with_real_ids(cluster, record)  # varied group boundaries on the live run
                if resolved is not None:
                    with contextlib.suppress(RecordRejected):  # e.g. endorsing an account not followed
                        await cluster.append(MODULE, depot, resolved, ack=ack)
            await cluster.controls.wait_idle()
            return dump_pstates(runtime)

    async def replay() -> Dump:
        async with new_cluster(replay_dir, store=store_kind, depots_of=live_dir) as cluster:
            runtime = await cluster.launch(Relationships(), tasks=4)
            await cluster.controls.wait_idle()
            return dump_pstates(runtime)

    expected = asyncio.run(live())
    rebuilt = asyncio.run(replay())

    def rows_of(name: str) -> int:
        return sum(len(rows) for (_, pstate), rows in expected.items() if pstate == name)

    assert rows_of("$$partitioned_followers") > 50
    for name in ("$$list_memberships", "$$endorsements", "$$tag_followers", "$$filter_statuses", "$$popular"):
        assert rows_of(name) > 3, name
    assert rebuilt == expected
