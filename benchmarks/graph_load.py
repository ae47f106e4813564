"""`tusk bench graph`: load a power-law social graph through the relationships module's real depots.

Every follow is a record on `relationships/*follows`, appended with `append_many` (acknowledged durable)
and folded by the module's stream topology: the follower's `$$following`, then a hop to the followee's
`$$followers` and its follower bucket. The figure is follows/s from the first append until every follow is
processed; the check afterwards compares the module's follower counts with the generated graph.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.social_graph import PROFILES, GraphProfile, degree_summary, follow_edges
from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from modules.relationships import Relationships

APPEND_BATCH = 5_000
IN_FLIGHT = 4


def _follow_batches(profile: GraphProfile, counts: np.ndarray) -> list[list[dict[str, Any]]]:
    """Every follow of the graph as records, in batches; `counts` receives each account's follower count."""
    batches: list[list[dict[str, Any]]] = [[]]
    for follower, followees in follow_edges(profile):
        counts[followees] += 1
        batch = batches[-1]
        batch.extend({"op": "follow", "follower": int(follower), "followee": int(g)} for g in followees)
        if len(batch) >= APPEND_BATCH:
            batches.append([])
    return [b for b in batches if b]


async def load_graph(cluster: InProcessCluster, batches: list[list[dict[str, Any]]]) -> float:
    """Append every batch (IN_FLIGHT calls at a time), wait until all are processed; return the seconds."""
    started = time.perf_counter()
    queue = iter(batches)

    async def appender() -> None:
        for batch in queue:
            await cluster.append_many("relationships", "*follows", batch, ack=Ack.APPENDED)

    await asyncio.gather(*(appender() for _ in range(IN_FLIGHT)))
    await cluster.controls.wait_idle(timeout_s=3_600)
    return time.perf_counter() - started


async def _check(cluster: InProcessCluster, counts: np.ndarray) -> int:
    """Accounts (among the 100 most followed and 100 others) whose follower count differs from the graph."""
    top = np.argsort(counts)[::-1][:100]
    sample = np.concatenate([top, np.arange(0, counts.size, max(1, counts.size // 100))])
    wrong = 0
    for account in {int(a) for a in sample}:
        stored = await cluster.query("relationships", "counts", account)
        wrong += stored["followers_count"] != int(counts[account])
    return wrong


def run_graph_benchmark(profile_name: str, *, tasks: int = 4) -> dict[str, Any]:
    """Build the profile's graph, load it through the real depots and report follows/s."""
    profile = PROFILES[profile_name]
    counts = np.zeros(profile.accounts, dtype=np.int64)
    batches = _follow_batches(profile, counts)
    follows = sum(len(b) for b in batches)

    async def run(data: Path) -> tuple[float, int]:
        async with InProcessCluster(data) as cluster:
            await cluster.launch(Relationships(), tasks=tasks)
            seconds = await load_graph(cluster, batches)
            return seconds, await _check(cluster, counts)

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
        "follower_count_mismatches": mismatches,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
