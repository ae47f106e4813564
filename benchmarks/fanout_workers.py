"""`tusk bench fanout --runtime kafka --workers N`: the fanout benchmark on `tusk worker` processes.

The scenario and the figures are those of `benchmarks.fanout` (register, graph load, warm, paced posting
with probes, celebrity posts and home reads, drain); only the runtime differs. The benchmark starts its own
tansu on loopback (unless `--broker` names one), N `tusk worker --module fanout` processes (relationships
and core, the modules the embedded run launches; `--worker-modules mastodon` hosts all of them) with their
own data directories under a temporary directory, waits until the group has split the tasks between them,
and drives everything through a `WorkerClient` (batched `append_many`, one request per owning task).

Deliveries are counted by core's `home_deliveries` query (the sum of every task's `home_timelines`
counter), polled every `COUNT_EVERY_S`, since the task globals live in the workers; the rate controller's
lag compares each count with the deliveries owed when it was asked for, as embedded compares both at once.
A rebalance during the run would rebuild task globals and reset those counters, so the worker events are
watched and any rebalance after the split is reported (`rebalances_after_split`, expected 0).

`--workers 1,2` runs once per count, each on a fresh broker namespace and fresh workers; the JSON is the
first run's plus `by_workers` (each run's headline figures) and `ratios`. `--compare` runs the embedded
benchmark in the same invocation first (`embedded_statuses_per_s`, `embedded_deliveries_per_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.fanout import CORE, REGISTER_BATCH, FanoutRun, _followers_sample, fanout_report, plot_fanout
from benchmarks.graph_load import IN_FLIGHT, FollowLists, follow_lists, import_batches
from benchmarks.social_graph import PROFILES
from cluster.client import Ack
from cluster.workers.cli import worker_modules
from cluster.workers.client import WorkerClient
from cluster.workers.local_broker import local_tansu
from modules.core.module import DEFAULT_FANOUT_LIMIT, DEFAULT_TICK_MS

COUNT_EVERY_S = 0.05
PROBE_POLL_S = 0.02
SPLIT_BOUND_S = 120.0
LOAD_CHECK_BOUND_S = 600.0
STOP_BOUND_S = 15.0
# A request's bound: an import batch acknowledged PROCESSED took over the client's default 30 s on this
# shared 2-core machine at load average 13 (the run failed in its graph load); the benchmark measures rates.
REQUEST_BOUND_S = 120.0
HEADLINE = ("statuses_per_s", "deliveries_per_s", "overall_statuses_per_s", "overall_deliveries_per_s")


@dataclass
class _WorkerProcess:
    process: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def serving(self) -> set[int]:
        served = [e["tasks"] for e in self.events if e["event"] == "serving"]
        return set(served[-1]) if served else set()

    def serving_events(self) -> int:
        return sum(e["event"] == "serving" for e in self.events)

    async def read_events(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            with contextlib.suppress(ValueError):  # a line that is not an event (a library's print)
                self.events.append(json.loads(line))

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_BOUND_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader


class WorkerFanoutRun(FanoutRun):
    """The posting phase against workers: deliveries counted by core's `home_deliveries` query."""

    made = 0  # the newest count polled (all tasks, since the workers started)
    owed_at_count = 0  # deliveries owed when that count was asked for
    # Each probe poll is a request the workers answer: at the embedded 2 ms, the probes in flight alone sent
    # thousands of requests a second and competed with the fanout they measure. Adds <= 20 ms to a figure.
    poll_s = PROBE_POLL_S

    async def refresh(self) -> None:
        """Poll every task's delivery counter, noting what was owed when it was asked for."""
        owed = self.owed
        self.made = int(await self.cluster.query(CORE, "home_deliveries"))
        self.owed_at_count = owed

    def lag_s(self, delivery_rate: float) -> float:
        """The fanout lag as of the last count: owed then, less made then (embedded reads both at once).

        Comparing the count with what is owed *now* would add the count's age (up to `COUNT_EVERY_S` plus the
        query's own time) to every lag the rate controller sees, a penalty the embedded run does not pay.
        """
        return (self.owed_at_count - self.deliveries()) / max(delivery_rate, 1_000.0)

    def deliveries(self) -> int:
        """Home-timeline inserts since the run started, as of the last poll (at most `COUNT_EVERY_S` old)."""
        return self.made - self.base_deliveries

    async def warm(self) -> None:
        """Rebuild the timelines the run reads, then take the counters' starting point."""
        await super().warm()
        await self.refresh()
        self.base_deliveries = self.made

    async def run(self) -> float:
        """Run the posting phase while a side task keeps the delivery count fresh."""

        async def poll() -> None:
            while True:
                await self.refresh()
                await asyncio.sleep(COUNT_EVERY_S)

        poller = asyncio.create_task(poll())
        try:
            return await super().run()
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await self.refresh()


async def _start_workers(url: str, scratch: Path, count: int, modules: str, tasks: int) -> list[_WorkerProcess]:
    workers: list[_WorkerProcess] = []
    for index in range(count):
        data, stderr = scratch / f"worker-{index}", scratch / f"worker-{index}.stderr"
        data.mkdir(parents=True)
        command = [sys.executable, "-m", "cluster.cli", "worker", "--broker", url, "--data", str(data)]
        command += ["--module", modules, "--tasks", str(tasks)]
        with stderr.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=sink, stdin=asyncio.subprocess.DEVNULL
            )
        worker = _WorkerProcess(process)
        worker.reader = asyncio.create_task(worker.read_events())
        workers.append(worker)
    return workers


async def _wait_split(workers: list[_WorkerProcess], tasks: int, scratch: Path) -> None:
    """Wait until the workers serve disjoint, non-empty task sets covering every task."""
    deadline = time.monotonic() + SPLIT_BOUND_S
    while True:
        served = [w.serving() for w in workers]
        union: set[int] = set().union(*served)
        if all(served) and sum(map(len, served)) == tasks and union == set(range(tasks)):
            return
        dead = [w for w in workers if w.process.returncode is not None]
        if dead or time.monotonic() > deadline:
            raise SystemExit(f"the workers did not split the tasks (serving {served}); see {scratch}/*.stderr")
        await asyncio.sleep(0.1)  # a bounded poll of the workers' printed events


async def _register(client: WorkerClient, accounts: int) -> np.ndarray:
    ids = np.zeros(accounts, dtype=np.int64)
    for start in range(0, accounts, REGISTER_BATCH):
        stop = min(accounts, start + REGISTER_BATCH)
        records = [{"op": "register", "uuid": f"bench-{i}", "username": f"bench{i}"} for i in range(start, stop)]
        results = await client.append_many(CORE, "*accounts", records, ack=Ack.PROCESSED)
        ids[start:stop] = [int(r.value) for r in results]
    return ids


async def _load_graph(client: WorkerClient, lists: FollowLists, ids: np.ndarray, counts: np.ndarray) -> float:
    """Append every follow as import records (`Ack.PROCESSED`), then poll until sampled follower counts match."""
    started = time.perf_counter()
    queue = import_batches(lists, ids)

    async def appender() -> None:
        for batch in queue:
            await client.append_many("relationships", "*follows", batch, ack=Ack.PROCESSED)

    await asyncio.gather(*(appender() for _ in range(IN_FLIGHT)))
    top = np.argsort(counts)[::-1][:20]
    sample = {int(a) for a in np.concatenate([top, np.arange(0, counts.size, max(1, counts.size // 20))])}
    deadline = time.monotonic() + LOAD_CHECK_BOUND_S
    while sample:
        for account in sorted(sample):
            stored = await client.query("relationships", "counts", int(ids[account]))
            if stored["followers_count"] == int(counts[account]):
                sample.discard(account)
        if sample and time.monotonic() > deadline:
            raise SystemExit(f"follower counts of {len(sample)} sampled accounts still differ from the graph")
        if sample:
            await asyncio.sleep(0.05)  # hops still landing: poll again, bounded
    return time.perf_counter() - started


@contextlib.contextmanager
def _scratch(keep: Path | None, workers: int) -> Iterator[Path]:
    """The run's directory: under `keep` (kept, with the workers' stderr), else a temporary one."""
    if keep is not None:
        path = keep / f"workers-{workers}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="tusk-fanout-workers-") as tmp:
        yield Path(tmp)


@contextlib.contextmanager
def _broker(broker: str | None, scratch: Path) -> Iterator[str]:
    if broker is not None:
        yield broker.removeprefix("kafka://").split("/", 1)[0]
        return
    with local_tansu(scratch) as address:
        yield address


def run_fanout_workers(
    profile: str,
    seconds: float,
    workers: int,
    *,
    broker: str | None = None,
    modules: str = "fanout",
    tasks: int = 4,
    seed: int = 7,
    keep: Path | None = None,
) -> dict[str, Any]:
    """Run the fanout benchmark once on `workers` worker processes; the embedded report's JSON plus the runtime's."""
    graph = PROFILES[profile]
    counts = np.zeros(graph.accounts, dtype=np.int64)
    lists = follow_lists(graph, counts)
    follows = int(counts.sum())
    rng = np.random.default_rng(seed)
    sampled = _followers_sample(lists, counts, rng)

    async def scenario(scratch: Path, address: str) -> dict[str, Any]:
        url = f"kafka://{address}/fanout{uuid.uuid4().hex[:12]}"
        processes = await _start_workers(url, scratch, workers, modules, tasks)
        try:
            await _wait_split(processes, tasks, scratch)
            split_events = sum(p.serving_events() for p in processes)
            client_of = WorkerClient(url, worker_modules([modules]), tasks, failover_timeout_s=REQUEST_BOUND_S)
            async with client_of as client:
                await client.refresh_routing()
                t0 = time.perf_counter()
                ids = await _register(client, graph.accounts)
                register_s = time.perf_counter() - t0
                load_s = await _load_graph(client, lists, ids, counts)
                run = WorkerFanoutRun(client, ids, counts, sampled, seconds, rng)
                await run.warm()
                elapsed = await run.run()
                out = {
                    "register_s": register_s,
                    "load_s": load_s,
                    "elapsed": elapsed,
                    "delivered": run.deliveries(),
                    "backlog": await client.query(CORE, "fanout_backlog"),
                    "run": run,
                    "rebalances_after_split": sum(p.serving_events() for p in processes) - split_events,
                }
        finally:
            for process in processes:
                await process.stop()
        return out

    with _scratch(keep, workers) as scratch, _broker(broker, scratch) as address:
        out = asyncio.run(scenario(scratch, address))
    report = fanout_report(
        graph, counts, follows, out, tasks=tasks, fanout_limit=DEFAULT_FANOUT_LIMIT, tick_ms=DEFAULT_TICK_MS
    )
    report.update(
        {
            "runtime": "kafka",
            "workers": workers,
            "worker_modules": modules,
            "broker": "given" if broker else "tansu 0.6.0 memory:// started by the benchmark",
            "rebalances_after_split": out["rebalances_after_split"],
            "largest_child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        }
    )
    report["_points"] = out["run"].points
    return report


def run_fanout_on_workers(
    profile: str,
    seconds: float,
    worker_counts: list[int],
    *,
    broker: str | None = None,
    modules: str = "fanout",
    compare: bool = False,
    plot: Path | None = None,
    keep: Path | None = None,
) -> dict[str, Any]:
    """One run per worker count (and the embedded one with `compare`); the first run's report with ratios."""
    from benchmarks.fanout import run_fanout_benchmark

    embedded = run_fanout_benchmark(profile, seconds) if compare else None
    runs = [run_fanout_workers(profile, seconds, n, broker=broker, modules=modules, keep=keep) for n in worker_counts]
    points = [run.pop("_points") for run in runs]
    report = runs[0]
    report["by_workers"] = {str(r["workers"]): {key: r[key] for key in HEADLINE} for r in runs}
    ratios: dict[str, float | None] = {}
    for run in runs[1:]:
        ratios[f"workers_{run['workers']}_to_{report['workers']}"] = _ratio(run, report)
    if embedded is not None:
        report["embedded_statuses_per_s"] = embedded["statuses_per_s"]
        report["embedded_deliveries_per_s"] = embedded["deliveries_per_s"]
        for run in runs:
            ratios[f"kafka_{run['workers']}_workers_to_embedded"] = _ratio(run, embedded)
    report["ratios"] = ratios
    if plot is not None:
        plot_fanout(report, points[0], plot)
    return report


def _ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> float | None:
    """Ratio of steady statuses/s (None when a run had no steady window)."""
    top, bottom = numerator["statuses_per_s"], denominator["statuses_per_s"]
    return round(top / bottom, 3) if top and bottom else None
