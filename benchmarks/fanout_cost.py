"""`python -m benchmarks.fanout_cost`: CPU cost of fanout per status and per delivery, on a saved graph.

Two steps, so that two versions of the code can be measured on the very same graph (and the graph, slow to
load, is loaded once):

    build  --data DIR --accounts N --fanout F    register N accounts, load the seeded power-law graph of
                                                 average fanout F (`benchmarks.social_graph`) into DIR
    run    --data DIR --statuses S --chunk C     copy DIR aside, post S statuses from uniform authors, C at a
                                                 time, and report CPU seconds of this process per phase
    steady --data DIR --seconds T                copy DIR aside and run `tusk bench fanout`'s posting phase
                                                 (`FanoutRun`: paced posts, probes, home reads) on it

A chunk goes in with the fanout topology paused: its statuses are appended (`append_many`, `Ack.APPENDED`)
and stored by the statuses stream topology (`statuses_cpu_s`); then the fanout is resumed and runs until
every owed delivery is made (`fanout_cpu_s`), so each fanout microbatch holds one chunk (`C` statuses over
the tasks). Deliveries are counted by the `home_timelines` task globals and checked against what the graph
owes (each author's follower count, plus the author). `--cprofile FILE` profiles the fanout phases only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.fanout import FanoutRun, _followers_sample, _latency, _register, _steady
from benchmarks.graph_load import follow_lists, load_graph
from benchmarks.social_graph import GraphProfile, degree_summary
from cluster.client import Ack
from cluster.contexts import EmbeddedReadContext
from cluster.inprocess import InProcessCluster
from modules.core import Core
from modules.relationships import Relationships

CORE = "core"
TASKS = 4
TEXT = "a status of ordinary length, about as long as most posts are, with a #hashtag or two in it"


def _profile(accounts: int, fanout: float) -> GraphProfile:
    return GraphProfile(f"cost-{accounts}-{fanout:g}", accounts=accounts, average_fanout=fanout)


async def build(data: Path, accounts: int, fanout: float) -> dict[str, Any]:
    """Register the accounts and load the graph into `data`; save the ids and follower counts beside it."""
    profile = _profile(accounts, fanout)
    counts = np.zeros(accounts, dtype=np.int64)
    lists = follow_lists(profile, counts)
    async with InProcessCluster(data / "cluster") as cluster:
        await cluster.launch(Relationships(), tasks=TASKS)
        await cluster.launch(Core(), tasks=TASKS)
        ids = await _register(cluster, accounts)
        cpu = time.process_time()
        await load_graph(cluster, lists, ids)
        load_cpu = time.process_time() - cpu
    np.save(data / "ids.npy", ids)
    (data / "graph.json").write_text(json.dumps({"accounts": accounts, "fanout": fanout}))
    np.save(data / "counts.npy", counts)
    return {"follows": int(counts.sum()), "graph_load_cpu_s": round(load_cpu, 1), **degree_summary(counts)}


def _deliveries(cluster: InProcessCluster) -> int:
    runtime = cluster.runtime(CORE)
    total = 0
    for task in range(runtime.tasks):
        timelines = runtime.task_global(task, "home_timelines", lambda t: EmbeddedReadContext(cluster, runtime, t))
        total += int(timelines.deliveries)
    return total


async def _wait_deliveries(cluster: InProcessCluster, owed: int) -> None:
    deadline = time.perf_counter() + 600
    while _deliveries(cluster) < owed:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{_deliveries(cluster)} deliveries made of {owed} owed")
        await asyncio.sleep(0.002)


async def run(data: Path, statuses: int, chunk: int, seed: int, profiler: cProfile.Profile | None) -> dict[str, Any]:
    """Post `statuses` in chunks on a copy of `data`; CPU seconds per phase, deliveries made and owed."""
    ids, counts = np.load(data / "ids.npy"), np.load(data / "counts.npy")
    rng = np.random.default_rng(seed)
    authors = rng.integers(0, ids.size, statuses)
    with tempfile.TemporaryDirectory(prefix="tusk-fanout-cost-") as tmp:
        copy = Path(tmp) / "cluster"
        shutil.copytree(data / "cluster", copy)
        async with InProcessCluster(copy) as cluster:
            await cluster.launch(Relationships(), tasks=TASKS)
            await cluster.launch(Core(), tasks=TASKS)
            await cluster.controls.wait_idle(timeout_s=600)
            owed, statuses_cpu, fanout_cpu = _deliveries(cluster), 0.0, 0.0
            for start in range(0, statuses, chunk):
                cluster.controls.pause(CORE, "fanout")
                cpu = time.process_time()
                records = [
                    {"op": "create", "author": int(ids[a]), "uuid": f"cost-{start + i}", "text": TEXT}
                    for i, a in enumerate(authors[start : start + chunk].tolist())
                ]
                await cluster.append_many(CORE, "*statuses", records, ack=Ack.APPENDED)
                await cluster.controls.wait_idle(timeout_s=600)
                statuses_cpu += time.process_time() - cpu
                owed += int(counts[authors[start : start + chunk]].sum()) + len(records)
                cpu = time.process_time()
                if profiler is not None:
                    profiler.enable()
                cluster.controls.resume(CORE, "fanout")
                await _wait_deliveries(cluster, owed)
                if profiler is not None:
                    profiler.disable()
                fanout_cpu += time.process_time() - cpu
            made = _deliveries(cluster)
    delivered = int(counts[authors].sum()) + statuses
    return {
        "statuses": statuses,
        "chunk": chunk,
        "deliveries": delivered,
        "deliveries_made_total": made,
        "statuses_cpu_s": round(statuses_cpu, 2),
        "fanout_cpu_s": round(fanout_cpu, 2),
        "fanout_deliveries_per_cpu_s": round(delivered / fanout_cpu, 1),
        "fanout_statuses_per_cpu_s": round(statuses / fanout_cpu, 1),
        "all_statuses_per_cpu_s": round(statuses / (statuses_cpu + fanout_cpu), 1),
    }


async def steady(data: Path, seconds: float, seed: int, profiler: cProfile.Profile | None) -> dict[str, Any]:
    """Run `FanoutRun` (the fanout benchmark's posting phase) for `seconds` on a copy of `data`."""
    graph = json.loads((data / "graph.json").read_text())
    profile = _profile(graph["accounts"], graph["fanout"])
    ids, counts = np.load(data / "ids.npy"), np.load(data / "counts.npy")
    rng = np.random.default_rng(seed)
    sampled = _followers_sample(follow_lists(profile, np.zeros_like(counts)), counts, rng)
    with tempfile.TemporaryDirectory(prefix="tusk-fanout-cost-") as tmp:
        copy = Path(tmp) / "cluster"
        shutil.copytree(data / "cluster", copy)
        async with InProcessCluster(copy) as cluster:
            await cluster.launch(Relationships(), tasks=TASKS)
            await cluster.launch(Core(), tasks=TASKS)
            await cluster.controls.wait_idle(timeout_s=600)
            fanout_run = FanoutRun(cluster, ids, counts, sampled, seconds, rng)
            await fanout_run.warm()
            if profiler is not None:
                profiler.enable()
            cpu = time.process_time()
            elapsed = await fanout_run.run()
            run_cpu = time.process_time() - cpu
            if profiler is not None:
                profiler.disable()
            delivered = fanout_run.deliveries()
    return {
        "seconds": seconds,
        "statuses": fanout_run.statuses,
        "deliveries": delivered,
        "deliveries_owed": fanout_run.owed,
        "elapsed_s": round(elapsed, 2),
        "run_cpu_s": round(run_cpu, 2),
        "deliveries_per_cpu_s": round(delivered / run_cpu, 1),
        "statuses_per_cpu_s": round(fanout_run.statuses / run_cpu, 1),
        **_steady(fanout_run.series, seconds),
        "fanout_ordinary": _latency(fanout_run.ordinary_ms),
        "home_read": _latency(fanout_run.read_ms),
        "probe_polls": fanout_run.probe_polls,
        "probe_poll_cpu_s": round(fanout_run.probe_poll_cpu_s, 2),
    }


def main() -> None:
    """Parse the command line and run `build` or `run`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    b = steps.add_parser("build")
    b.add_argument("--data", type=Path, required=True)
    b.add_argument("--accounts", type=int, default=2_000)
    b.add_argument("--fanout", type=float, default=400.0)
    r = steps.add_parser("run")
    r.add_argument("--data", type=Path, required=True)
    r.add_argument("--statuses", type=int, default=3_000)
    r.add_argument("--chunk", type=int, default=200)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--cprofile", type=Path, help="write a cProfile of the fanout phases here")
    s = steps.add_parser("steady")
    s.add_argument("--data", type=Path, required=True)
    s.add_argument("--seconds", type=float, default=20.0)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--cprofile", type=Path, help="write a cProfile of the posting phase here")
    args = parser.parse_args()
    if args.step == "build":
        args.data.mkdir(parents=True, exist_ok=False)
        print(json.dumps(asyncio.run(build(args.data, args.accounts, args.fanout))))
        return
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU, not wall: a shared machine
    if args.step == "run":
        report = asyncio.run(run(args.data, args.statuses, args.chunk, args.seed, profiler))
    else:
        report = asyncio.run(steady(args.data, args.seconds, args.seed, profiler))
    if profiler is not None:
        profiler.dump_stats(args.cprofile)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
