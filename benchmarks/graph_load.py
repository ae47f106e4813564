"""`tusk bench graph`: load a power-law social graph through the relationships module's real depots.

The follows go through `relationships/*follows` as Mastodon following-list imports (`import_follows`
records, one follower and up to `MAX_IMPORT_TARGETS` followees each), appended with `append_many`
(acknowledged durable) and folded by the module's stream topology: the follower's `$$following`, the
followees' `$$followers` and follower buckets, with the same rules as one `follow` per pair. The figure
is follows/s from the first append until every follow is processed; the check afterwards compares the
module's follower counts with the generated graph.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.social_graph import PROFILES, GraphProfile, degree_summary, follow_edges
from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from modules.relationships import Relationships
from modules.relationships.imports import MAX_IMPORT_TARGETS

APPEND_BATCH = 8_000  # follows per `append_many` call (in import records of up to MAX_IMPORT_TARGETS)
IN_FLIGHT = 4

FollowLists = list[tuple[int, np.ndarray]]  # (follower, its followees), graph nodes


def follow_lists(profile: GraphProfile, counts: np.ndarray) -> FollowLists:
    """Every follower's followees (graph nodes); `counts` receives each account's follower count."""
    lists: FollowLists = []
    for follower, followees in follow_edges(profile):
        counts[followees] += 1
        lists.append((int(follower), followees))
    return lists


def import_batches(lists: FollowLists, ids: np.ndarray | None = None) -> Iterator[list[dict[str, Any]]]:
    """The follows as `import_follows` records (node `i` is account `ids[i]`, or `i`), in append batches."""
    batch: list[dict[str, Any]] = []
    size = 0
    for follower, followees in lists:
        targets = followees if ids is None else ids[followees]
        account = follower if ids is None else int(ids[follower])
        for start in range(0, targets.size, MAX_IMPORT_TARGETS):
            chunk = targets[start : start + MAX_IMPORT_TARGETS].tolist()
            batch.append({"op": "import_follows", "follower": account, "followees": chunk})
            size += len(chunk)
        if size >= APPEND_BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


async def load_graph(cluster: InProcessCluster, lists: FollowLists, ids: np.ndarray | None = None) -> float:
    """Append every follow as import records (IN_FLIGHT calls at a time), wait until all are processed."""
    started = time.perf_counter()
    queue = import_batches(lists, ids)

    async def appender() -> None:
        for batch in queue:
            await cluster.append_many("relationships", "*follows", batch, ack=Ack.APPENDED)

    await asyncio.gather(*(appender() for _ in range(IN_FLIGHT)))
    await cluster.controls.wait_idle(timeout_s=3_600)
    return time.perf_counter() - started


def resized_profile(profile: GraphProfile, accounts: int | None, fanout: float | None) -> GraphProfile:
    """`profile` with another account count or average fanout (a graph between two named profiles)."""
    if accounts is None and fanout is None:
        return profile
    return replace(
        profile,
        name=f"{profile.name}:{accounts or profile.accounts}x{fanout or profile.average_fanout:g}",
        accounts=accounts or profile.accounts,
        average_fanout=fanout or profile.average_fanout,
    )


async def _check(cluster: InProcessCluster, counts: np.ndarray) -> int:
    """Accounts (among the 100 most followed and 100 others) whose follower count differs from the graph."""
    top = np.argsort(counts)[::-1][:100]
    sample = np.concatenate([top, np.arange(0, counts.size, max(1, counts.size // 100))])
    wrong = 0
    for account in {int(a) for a in sample}:
        stored = await cluster.query("relationships", "counts", account)
        wrong += stored["followers_count"] != int(counts[account])
    return wrong


def run_graph_benchmark(
    profile_name: str, *, tasks: int = 4, accounts: int | None = None, fanout: float | None = None
) -> dict[str, Any]:
    """Build the profile's graph (optionally resized), load it through the real depots and report follows/s."""
    profile = resized_profile(PROFILES[profile_name], accounts, fanout)
    counts = np.zeros(profile.accounts, dtype=np.int64)
    lists = follow_lists(profile, counts)
    follows = int(counts.sum())

    async def run(data: Path) -> tuple[float, int]:
        async with InProcessCluster(data) as cluster:
            await cluster.launch(Relationships(), tasks=tasks)
            cpu = time.process_time()
            seconds = await load_graph(cluster, lists)
            cpu_s.append(time.process_time() - cpu)
            return seconds, await _check(cluster, counts)

    cpu_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tusk-graph-") as tmp:
        seconds, mismatches = asyncio.run(run(Path(tmp)))
    return {
        "benchmark": "graph",
        "profile": profile.name,
        "accounts": profile.accounts,
        "tasks": tasks,
        "follows": follows,
        **degree_summary(counts),
        "seconds": round(seconds, 2),
        "follows_per_s": round(follows / seconds, 1),
        "follows_per_cpu_s": round(follows / cpu_s[0], 1),  # this process's CPU: comparable on a shared machine
        "follower_count_mismatches": mismatches,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
