"""`tusk bench fanout`: post statuses into a power-law social graph and measure fanout to home timelines.

Everything goes through the real depots of the embedded cluster (relationships launched first, then core,
same task count, `SystemClock`, fsync on every group commit):

1. Register one account per graph node on `core/*accounts` (`append_many`, `Ack.PROCESSED`); node `i` maps
   to the id the accounts topology returned for it (core's time-ordered ids, not `i`).
2. Load the graph of `benchmarks.social_graph` (the same seeded graph as `tusk bench graph`) through
   `relationships/*follows` with those ids, as following-list imports (`graph_load.load_graph`):
   `follows_per_s`.
3. Warm (rebuild) the home timelines that will be read, while no status exists yet: a later read of them
   never rebuilds, so every home-timeline insert during the run is a fanout delivery.
4. Post for `seconds`: authors drawn uniformly from all accounts, `append_many` of `POST_BATCH` creates with
   `Ack.APPENDED`, at most `IN_FLIGHT` batches at a time, paced to a target rate. The rate starts at
   `START_RATE` and is adjusted every `CONTROL_S`: up 25% while the fanout lag is under `LAG_TARGET_S` and
   the posters achieved at least 80% of the target, down 20% when the lag is above it; posting also
   pauses outright while the lag is above `LAG_LIMIT_S`. The lag is
   (deliveries owed - deliveries made) / recent delivery rate, so the rate settles where fanout keeps up.
   Meanwhile the most followed account posts `CELEBRITY_POSTS` times (celebrity posts), and probe posts
   (single appends, `Ack.PROCESSED` to learn the id) go out every `PROBE_EVERY_S` from authors with followers.
5. After `seconds`, posting stops and the run waits until every owed delivery is made (bounded).

Figures:

- `follows_per_cpu_s`, `deliveries_per_cpu_s`: the same work per second of this process's CPU time (graph
  load; posting until drained), which compares runs on a machine other work shares.
- `statuses_per_s`, `deliveries_per_s`: statuses posted (paced, probe and celebrity) and deliveries made
  during the second half of the posting time (`steady_window_s`, from the once-a-second samples), when the
  rate has ramped up from `START_RATE` and the controller holds the fanout lag near `LAG_TARGET_S`:
  the sustained rate. `overall_statuses_per_s` / `overall_deliveries_per_s` divide everything by the time
  from the first post until the last delivery (ramp and drain included), so they undercount, never over.
- deliveries are counted exactly: the sum over core tasks of the `home_timelines` task global's
  `deliveries` counter (one per id inserted into a timeline), before and after. It is checked against the
  deliveries owed: for each status, its author's follower count in the generated graph + 1 (the author's
  own timeline); every status is public and not a reply, so every follower is reached (`deliveries_owed`).
- fanout latency: for a probe post, from just before its append until its id is visible in a sampled
  follower's `home_timeline` query (polled every `POLL_S` with `max_id = id + 1, limit = 1`); one figure
  per (post, follower); ordinary and celebrity posts separately. The polls run in the measured process:
  `probe_polls` and `probe_poll_cpu_s` say what they cost. `POLL_S` is 10 ms (it was 2 ms: up to 500
  queries/s per follower still waited on, thousands/s with a few probes in flight whenever the event loop
  was free), so a figure is late by at most 10 ms, 5 ms on average.
- home read latency: `home_timeline` (page of 20) then `statuses` (hydrate) for a random warmed account,
  every `READ_EVERY_S`, under the write load. Embedded queries run synchronously on the event loop, so
  this is the queries' own time, not time queued behind topology work.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.graph_load import FollowLists, follow_lists, load_graph
from benchmarks.social_graph import PROFILES, GraphProfile, degree_summary
from cluster.client import Ack, ClusterClient
from cluster.contexts import EmbeddedReadContext
from cluster.inprocess import InProcessCluster
from modules.core import Core
from modules.core.module import DEFAULT_FANOUT_LIMIT, DEFAULT_TICK_MS
from modules.core.timelines import HomeTimelines
from modules.relationships import Relationships

CORE = "core"
REGISTER_BATCH = 1_000
POST_BATCH = 20
IN_FLIGHT = 4
START_RATE = 200.0
MIN_RATE = 20.0
CONTROL_S = 1.0
LAG_TARGET_S = 0.5
LAG_LIMIT_S = 1.5
PROBE_EVERY_S = 0.2
PROBE_FOLLOWERS = 5
CELEBRITY_POSTS = 5
CELEBRITY_FOLLOWERS = 20
READERS = 200
READ_EVERY_S = 0.02
POLL_S = 0.01
PROBE_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 120.0
TEXT = "a status of ordinary length, about as long as most posts are, with a #hashtag or two in it"


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def _latency(values: list[float]) -> dict[str, Any]:
    return {"samples": len(values), "p50_ms": _percentile(values, 50), "p99_ms": _percentile(values, 99)}


class FanoutRun:
    """One run of the posting phase against a loaded cluster."""

    poll_s = POLL_S  # how often a probe reads its followers' timelines

    def __init__(
        self,
        cluster: ClusterClient,
        ids: np.ndarray,
        counts: np.ndarray,
        followers_of: dict[int, list[int]],
        seconds: float,
        rng: np.random.Generator,
    ) -> None:
        self.cluster = cluster
        self.ids = ids
        self.counts = counts
        self.followers_of = followers_of
        self.seconds = seconds
        self.rng = rng
        self.celebrity = int(np.argmax(counts))
        self.probe_authors = [a for a in followers_of if a != self.celebrity]
        self.readers = [int(a) for a in rng.choice(ids.size, size=min(READERS, ids.size), replace=False)]
        self.statuses = 0
        self.owed = 0
        self.base_deliveries = 0
        self.seq = 0
        self.rate = START_RATE
        self.throttled_s = 0.0
        self.ordinary_ms: list[float] = []
        self.celebrity_ms: list[float] = []
        self.read_ms: list[float] = []
        self.lost_probes = 0
        self.probe_polls = 0  # home_timeline queries the probes made, and their CPU seconds (this process)
        self.probe_poll_cpu_s = 0.0
        self.celebrity_posts = 0
        self.points: list[tuple[float, str, float]] = []  # (seconds since start, kind, latency ms)
        self.series: list[dict[str, float]] = []
        self.started = 0.0
        self.posting = True

    # -- counting ----------------------------------------------------------------------------------------

    def deliveries(self) -> int:
        """Home-timeline inserts made by every core task since the run started."""
        cluster = self.cluster
        assert isinstance(cluster, InProcessCluster), "on workers, WorkerFanoutRun counts by query"
        runtime = cluster.runtime(CORE)
        total = 0
        for task in range(runtime.tasks):
            timelines: HomeTimelines = runtime.task_global(
                task, "home_timelines", lambda t: EmbeddedReadContext(cluster, runtime, t)
            )
            total += timelines.deliveries
        return total - self.base_deliveries

    def record(self, author: int) -> dict[str, Any]:
        """A create record by graph node `author`; counts the status and the deliveries it owes."""
        self.seq += 1
        self.statuses += 1
        self.owed += int(self.counts[author]) + 1
        return {"op": "create", "author": int(self.ids[author]), "uuid": f"bench-{self.seq}", "text": TEXT}

    # -- phases ------------------------------------------------------------------------------------------

    async def warm(self) -> None:
        """Rebuild every timeline the run will read, before any status exists (so reads never rebuild)."""
        accounts = set(self.readers)
        for followers in self.followers_of.values():
            accounts.update(followers)
        for account in sorted(accounts):
            await self.cluster.query(CORE, "home_timeline", int(self.ids[account]), None, 1)
        self.base_deliveries = 0
        self.base_deliveries = self.deliveries()

    async def run(self) -> float:
        """Post for `seconds`, wait for the fanout to drain; return seconds from first post to last delivery."""
        self.started = time.perf_counter()
        side: list[asyncio.Task[None]] = [
            asyncio.create_task(self.sample()),
            asyncio.create_task(self.read_loop()),
            asyncio.create_task(self.probe_loop()),
            asyncio.create_task(self.celebrity_loop()),
        ]
        try:
            await self.post_loop()
            self.posting = False
            deadline = time.perf_counter() + DRAIN_TIMEOUT_S
            while self.deliveries() < self.owed and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - self.started
            await asyncio.wait_for(asyncio.gather(*side[2:]), PROBE_TIMEOUT_S + 5)
        finally:
            for task in side:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*side, return_exceptions=True)
        return elapsed

    def lag_s(self, delivery_rate: float) -> float:
        """Seconds of fanout work owed but not done yet, at the recent delivery rate."""
        return (self.owed - self.deliveries()) / max(delivery_rate, 1_000.0)

    async def post_loop(self) -> None:
        """Post paced batches, adjusting the rate to the fanout lag; bounded by `seconds`."""
        in_flight: set[asyncio.Task[Any]] = set()
        end = self.started + self.seconds
        next_control = self.started + CONTROL_S
        last_deliveries, last_statuses, last_t, delivery_rate = 0, 0, self.started, 0.0
        budget = 0.0
        last = self.started
        while (now := time.perf_counter()) < end:
            if now >= next_control:
                made = self.deliveries()
                delivery_rate = (made - last_deliveries) / (now - last_t)
                achieved = (self.statuses - last_statuses) / (now - last_t)
                last_deliveries, last_statuses, last_t = made, self.statuses, now
                if self.lag_s(delivery_rate) >= LAG_TARGET_S:
                    self.rate = max(MIN_RATE, self.rate * 0.8)
                elif achieved >= 0.8 * self.rate:  # keeping up and posting at the target: step up
                    self.rate *= 1.25
                next_control = now + CONTROL_S
            budget = min(budget + (now - last) * self.rate, 4 * POST_BATCH)
            last = now
            if self.lag_s(delivery_rate) > LAG_LIMIT_S or len(in_flight) >= IN_FLIGHT or budget < POST_BATCH:
                if self.lag_s(delivery_rate) > LAG_LIMIT_S:
                    self.throttled_s += 0.005
                await asyncio.sleep(0.005)
                continue
            budget -= POST_BATCH
            authors = self.rng.integers(0, self.ids.size, POST_BATCH)
            records = [self.record(int(a)) for a in authors]
            task = asyncio.create_task(self._append(records))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)

    async def _append(self, records: list[dict[str, Any]]) -> None:
        await self.cluster.append_many(CORE, "*statuses", records, ack=Ack.APPENDED)

    async def probe(self, author: int, followers: list[int], into: list[float], kind: str) -> None:
        """Post once as `author`; time until the status shows in each of `followers`' home timelines."""
        record = self.record(author)
        t0 = time.perf_counter()
        status_id = int((await self.cluster.append(CORE, "*statuses", record, ack=Ack.PROCESSED)).value)
        waiting = {int(self.ids[f]) for f in followers}
        deadline = t0 + PROBE_TIMEOUT_S
        while waiting and time.perf_counter() < deadline:
            for account in list(waiting):
                cpu = time.process_time()
                page = await self.cluster.query(CORE, "home_timeline", account, status_id + 1, 1)
                self.probe_poll_cpu_s += time.process_time() - cpu
                self.probe_polls += 1
                if page and page[0] == status_id:
                    now = time.perf_counter()
                    waiting.discard(account)
                    into.append((now - t0) * 1_000)
                    self.points.append((now - self.started, kind, (now - t0) * 1_000))
            await asyncio.sleep(self.poll_s)
        self.lost_probes += len(waiting)

    async def probe_loop(self) -> None:
        """Probe an ordinary post every `PROBE_EVERY_S` while posting."""
        probes: list[Awaitable[None]] = []
        while self.posting:
            author = self.probe_authors[int(self.rng.integers(len(self.probe_authors)))]
            probes.append(asyncio.create_task(self.probe(author, self.followers_of[author], self.ordinary_ms, "o")))
            await asyncio.sleep(PROBE_EVERY_S)
        await asyncio.gather(*probes)

    async def celebrity_loop(self) -> None:
        """The most followed account posts `CELEBRITY_POSTS` times, spread over the posting time."""
        probes: list[Awaitable[None]] = []
        for _ in range(CELEBRITY_POSTS):
            await asyncio.sleep(self.seconds / (CELEBRITY_POSTS + 1))
            if not self.posting:
                break
            followers = self.followers_of[self.celebrity]
            self.celebrity_posts += 1
            probes.append(asyncio.create_task(self.probe(self.celebrity, followers, self.celebrity_ms, "c")))
        await asyncio.gather(*probes)

    async def read_loop(self) -> None:
        """Read a hydrated home page of 20 for a random warmed account every `READ_EVERY_S`."""
        while True:
            account = int(self.ids[self.readers[int(self.rng.integers(len(self.readers)))]])
            t0 = time.perf_counter()
            page = await self.cluster.query(CORE, "home_timeline", account, None, 20)
            await self.cluster.query(CORE, "statuses", account, page)
            now = time.perf_counter()
            self.read_ms.append((now - t0) * 1_000)
            self.points.append((now - self.started, "r", (now - t0) * 1_000))
            await asyncio.sleep(READ_EVERY_S)

    async def sample(self) -> None:
        """Once a second: statuses posted, deliveries made, target rate and lag."""
        last_statuses, last_deliveries, last_t = 0, 0, self.started
        while True:
            await asyncio.sleep(1.0)
            now, made = time.perf_counter(), self.deliveries()
            self.series.append(
                {
                    "t": round(now - self.started, 2),
                    "statuses_per_s": round((self.statuses - last_statuses) / (now - last_t), 1),
                    "deliveries_per_s": round((made - last_deliveries) / (now - last_t), 1),
                    "target_rate": round(self.rate, 1),
                    "owed_not_delivered": self.owed - made,
                    "statuses": self.statuses,
                    "deliveries": made,
                }
            )
            last_statuses, last_deliveries, last_t = self.statuses, made, now


def _steady(series: list[dict[str, float]], seconds: float) -> dict[str, Any]:
    """Rates over the second half of the posting time (the ramp from `START_RATE` left out)."""
    window = [s for s in series if seconds / 2 - 0.5 <= s["t"] <= seconds + 0.5]
    if len(window) < 2:
        return {"statuses_per_s": None, "deliveries_per_s": None, "steady_window_s": None}
    first, last = window[0], window[-1]
    span = last["t"] - first["t"]
    return {
        "statuses_per_s": round((last["statuses"] - first["statuses"]) / span, 1),
        "deliveries_per_s": round((last["deliveries"] - first["deliveries"]) / span, 1),
        "steady_window_s": [first["t"], last["t"]],
    }


def _followers_sample(lists: FollowLists, counts: np.ndarray, rng: np.random.Generator) -> dict[int, list[int]]:
    """Sampled followers (graph nodes) of a few probe authors with followers, and of the celebrity."""
    celebrity = int(np.argmax(counts))
    with_followers = np.flatnonzero(counts >= PROBE_FOLLOWERS)
    authors = {int(a) for a in rng.choice(with_followers, size=min(100, with_followers.size), replace=False)}
    authors.add(celebrity)
    wanted = np.array(sorted(authors), dtype=np.int64)
    found: dict[int, list[int]] = {a: [] for a in authors}
    for follower, followees in lists:
        for author in followees[np.isin(followees, wanted)].tolist():
            found[author].append(follower)
    out: dict[int, list[int]] = {}
    for author, followers in found.items():
        size = CELEBRITY_FOLLOWERS if author == celebrity else PROBE_FOLLOWERS
        out[author] = [int(f) for f in rng.choice(followers, size=min(size, len(followers)), replace=False)]
    return out


async def _register(cluster: InProcessCluster, accounts: int) -> np.ndarray:
    ids = np.zeros(accounts, dtype=np.int64)
    for start in range(0, accounts, REGISTER_BATCH):
        stop = min(accounts, start + REGISTER_BATCH)
        records = [{"op": "register", "uuid": f"bench-{i}", "username": f"bench{i}"} for i in range(start, stop)]
        results = await cluster.append_many(CORE, "*accounts", records, ack=Ack.PROCESSED)
        ids[start:stop] = [int(r.value) for r in results]
    await cluster.controls.wait_idle(timeout_s=600)
    return ids


def run_fanout_benchmark(
    profile: str,
    seconds: float,
    *,
    tasks: int = 4,
    fanout_limit: int = DEFAULT_FANOUT_LIMIT,
    tick_ms: int = DEFAULT_TICK_MS,
    plot: Path | None = None,
    seed: int = 7,
) -> dict[str, Any]:
    """Build the profile's graph through the depots, post for `seconds`, report fanout figures."""
    graph = PROFILES[profile]
    counts = np.zeros(graph.accounts, dtype=np.int64)
    lists = follow_lists(graph, counts)
    follows = int(counts.sum())
    rng = np.random.default_rng(seed)
    sampled = _followers_sample(lists, counts, rng)

    async def scenario(data: Path) -> dict[str, Any]:
        async with InProcessCluster(data) as cluster:
            await cluster.launch(Relationships(), tasks=tasks)
            await cluster.launch(Core(fanout_limit=fanout_limit, tick_ms=tick_ms), tasks=tasks)
            t0 = time.perf_counter()
            ids = await _register(cluster, graph.accounts)
            register_s = time.perf_counter() - t0
            cpu = time.process_time()
            load_s = await load_graph(cluster, lists, ids)
            load_cpu_s = time.process_time() - cpu
            run = FanoutRun(cluster, ids, counts, sampled, seconds, rng)
            await run.warm()
            cpu = time.process_time()
            elapsed = await run.run()
            run_cpu_s = time.process_time() - cpu
            delivered = run.deliveries()
            backlog = await cluster.query(CORE, "fanout_backlog")
            return {
                "register_s": register_s,
                "load_s": load_s,
                "load_cpu_s": load_cpu_s,
                "run_cpu_s": run_cpu_s,
                "elapsed": elapsed,
                "delivered": delivered,
                "backlog": backlog,
                "run": run,
            }

    with tempfile.TemporaryDirectory(prefix="tusk-fanout-") as tmp:
        out = asyncio.run(scenario(Path(tmp)))
    report = fanout_report(graph, counts, follows, out, tasks=tasks, fanout_limit=fanout_limit, tick_ms=tick_ms)
    if plot is not None:
        plot_fanout(report, out["run"].points, plot)
    return report


def fanout_report(
    graph: GraphProfile,
    counts: np.ndarray,
    follows: int,
    out: dict[str, Any],
    *,
    tasks: int,
    fanout_limit: int,
    tick_ms: int,
) -> dict[str, Any]:
    """The JSON report of a run: `out` holds register_s, load_s, elapsed, delivered, backlog and the `run`."""
    run: FanoutRun = out["run"]
    seconds = run.seconds
    elapsed = out["elapsed"]
    report: dict[str, Any] = {
        "benchmark": "fanout",
        "profile": graph.name,
        "accounts": graph.accounts,
        "tasks": tasks,
        "fanout_limit": fanout_limit,
        "tick_ms": tick_ms,
        "seconds": seconds,
        "method": (
            "paced append_many (Ack.APPENDED) of uniform-author creates, target rate from 200/s up 25%/s while "
            f"the fanout lag is under {LAG_TARGET_S}s and posting keeps up with the target (paused above "
            f"{LAG_LIMIT_S}s lag); statuses_per_s / deliveries_per_s over the second half of the posting time, "
            "overall_* over first post to last delivery; deliveries counted by the home_timelines task globals"
        ),
        "follows": follows,
        **degree_summary(counts),
        "register_accounts_per_s": round(graph.accounts / out["register_s"], 1),
        "graph_load_s": round(out["load_s"], 2),
        "follows_per_s": round(follows / out["load_s"], 1),
        **_cpu_figures(follows, out),
        "statuses": run.statuses,
        "celebrity_posts": run.celebrity_posts,
        "elapsed_s": round(elapsed, 2),
        "overall_statuses_per_s": round(run.statuses / elapsed, 1),
        "overall_deliveries_per_s": round(out["delivered"] / elapsed, 1),
        **_steady(run.series, seconds),
        "deliveries": out["delivered"],
        "deliveries_owed": run.owed,
        "fanout_backlog_at_end": out["backlog"],
        "final_target_rate": round(run.rate, 1),
        "throttled_s": round(run.throttled_s, 2),
        "fanout_ordinary": _latency(run.ordinary_ms),
        "fanout_celebrity": _latency(run.celebrity_ms),
        "probes_not_seen": run.lost_probes,
        "home_read": _latency(run.read_ms),
        "probe_polls": run.probe_polls,
        "probe_poll_cpu_s": round(run.probe_poll_cpu_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "series": run.series,
    }
    return report


def _cpu_figures(follows: int, out: dict[str, Any]) -> dict[str, float]:
    """Work per CPU second of this process: on a shared machine, the figure that compares embedded runs.

    Absent for runs on workers (`load_cpu_s` not in `out`): the work happens in other processes.
    """
    if "load_cpu_s" not in out:
        return {}
    return {
        "graph_load_cpu_s": round(out["load_cpu_s"], 2),
        "follows_per_cpu_s": round(follows / out["load_cpu_s"], 1),
        "run_cpu_s": round(out["run_cpu_s"], 2),
        "deliveries_per_cpu_s": round(out["delivered"] / out["run_cpu_s"], 1),
    }


def plot_fanout(report: dict[str, Any], points: list[tuple[float, str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = report["series"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ts = [s["t"] for s in series]
    top.plot(ts, [s["statuses_per_s"] for s in series], label="statuses/s")
    top.plot(ts, [s["target_rate"] for s in series], "--", label="target statuses/s")
    top.set_ylabel("statuses / s")
    right = top.twinx()
    right.plot(ts, [s["deliveries_per_s"] for s in series], color="tab:green", label="deliveries/s")
    right.set_ylabel("deliveries / s")
    top.legend(loc="upper left")
    right.legend(loc="upper right")
    top.set_title(
        f"tusk bench fanout --profile {report['profile']}: {report['statuses_per_s']} statuses/s, "
        f"{report['deliveries_per_s']} deliveries/s, avg fanout {report['avg_fanout']}"
    )
    for kind, label in (("o", "ordinary fanout"), ("c", "celebrity fanout"), ("r", "hydrated home read")):
        xs = [t for t, k, _ in points if k == kind]
        bottom.scatter(xs, [ms for _, k, ms in points if k == kind], s=6, label=label)
    bottom.set_yscale("log")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since the first post")
    bottom.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
