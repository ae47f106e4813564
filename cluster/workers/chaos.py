"""The worker chaos test: SIGKILL a random `tusk worker` again and again under load, then check everything.

`run_chaos` starts `workers` worker processes on one broker namespace and data directory, appends a steady
load through `WorkerClient`, and repeatedly (seeded RNG) picks a random moment and a random worker, kills
it with SIGKILL, times the failover, and restarts it. Then it stops the load and checks, from outside:

- the cluster settles: every topology of every task consumed its sources (hop topics too) to the end;
- the module set's live checks on the running workers (the ledger: balances and counts answered);
- no acknowledged append is lost, none is in the depot twice, nothing refused is in the depot, and each
  partition's offsets are contiguous;
- every PState of every task, byte for byte, equals an embedded replay (`ChaosReplay`: the workers' depots
  read back from the broker, its own internal depots, in the module set's stages), and that replay equals
  a plain fold of the depot.

Failover figures, per kill: SIGKILL -> every task answering a query again; SIGKILL -> first acknowledged
append on a task the victim owned; restart -> the restarted worker serving and every task answering.
`tusk chaos-workers --seconds S --workers 3 --json FILE` runs it; the test suite runs `quick=True`.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cluster.depot_storage import KafkaStorage, open_depot_storage
from cluster.workers.chaos_checks import compare_pstates, pstate_sizes, read_depot, wait_settled
from cluster.workers.chaos_load import Load, WorkerProcess, start_worker
from cluster.workers.chaos_modules import LEDGER, ChaosModules
from cluster.workers.chaos_replay import ChaosReplay
from cluster.workers.client import WorkerClient
from depots.log import FsyncPolicy
from pstates.errors import TuskError

TASKS = 4
FAILOVER_BOUND_S = 90.0  # a task not answering this long after a kill fails the run
SETTLE_BOUND_S = 60.0


@dataclass
class KillRecord:
    """One kill: the victim, the tasks it served, and how long the cluster took to cover them."""

    victim: str
    lost_tasks: list[int]
    during_rebalance: bool = False  # killed while a restarted worker was joining: kept out of the figures
    every_task_answering_s: float = 0.0
    first_append_on_lost_task_s: float | None = None
    rejoined_s: float | None = None  # None when the next kill came before the restarted worker rejoined


@dataclass
class ChaosReport:
    """What a run found; `ok` needs no loss, no duplicate, no mismatch, a settled cluster and every kill timed."""

    module_set: str
    workers: int
    tasks: int
    seed: int
    session_timeout_ms: int
    kills: list[KillRecord] = field(default_factory=list)
    sent: int = 0
    acknowledged: int = 0
    unknown_outcome: int = 0
    refused: int = 0
    depot_records: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    pstates_compared: dict[str, int] = field(default_factory=dict)
    pstate_mismatches: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    append_latency_ms: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        clean = not (self.lost or self.duplicated or self.unexpected or self.pstate_mismatches or self.problems)
        return clean and bool(self.kills) and all(k.first_append_on_lost_task_s is not None for k in self.kills)

    def figures(self) -> dict[str, dict[str, float]]:
        """Min / median / max of each failover figure, over kills in a steady cluster and mid-rebalance apart."""
        steady = [k for k in self.kills if not k.during_rebalance]
        series = {
            "kill_to_every_task_answering_s": [k.every_task_answering_s for k in steady],
            "kill_to_first_append_on_lost_task_s": [
                k.first_append_on_lost_task_s for k in steady if k.first_append_on_lost_task_s is not None
            ],
            "restart_to_rejoined_s": [k.rejoined_s for k in self.kills if k.rejoined_s is not None],
            "mid_rebalance_kill_to_every_task_answering_s": [
                k.every_task_answering_s for k in self.kills if k.during_rebalance
            ],
        }
        return {name: _spread(values) for name, values in series.items() if values}

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data, figures included."""
        return {**asdict(self), "failover": self.figures(), "ok": self.ok}


def _percentile_ms(ordered: list[float], fraction: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1e3, 1)


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2), "max": round(max(values), 2)}


@dataclass(frozen=True)
class ChaosSettings:
    """How hard and how long to shake the cluster."""

    seconds: float = 120.0
    workers: int = 3
    max_kills: int | None = None
    seed: int = 1
    session_timeout_ms: int = 3_000
    appenders: int = 8
    rate: float = 150.0
    dwell_s: tuple[float, float] = (1.0, 4.0)  # load time between the cluster serving again and the next kill
    overlap: float = 0.25  # chance that a restarted worker is still joining when the next kill lands

    @classmethod
    def quick(cls, seed: int = 1) -> ChaosSettings:
        """The suite's run: four kills, short dwells, half of the restarts interrupted by the next kill."""
        return cls(seconds=0.0, max_kills=4, seed=seed, dwell_s=(0.5, 2.0), rate=100.0, overlap=0.5)


class ChaosRun:
    """One run's processes, client, load and report."""

    def __init__(self, broker_url: str, root: Path, modules: ChaosModules, settings: ChaosSettings) -> None:
        if not 1 < settings.workers <= TASKS:
            raise ValueError(f"the chaos test runs 2 to {TASKS} workers (one per task at most)")
        self.url, self.root, self.modules, self.settings = broker_url, root, modules, settings
        self.data = root / "data"
        self.rng = random.Random(settings.seed)
        self.report = ChaosReport(modules.name, settings.workers, TASKS, settings.seed, settings.session_timeout_ms)
        self.workers: list[WorkerProcess] = []
        self.replay = ChaosReplay(root, broker_url)
        self.replayed = True

    async def run(self) -> ChaosReport:
        """Start, shake, settle, verify; always stop what it started."""
        started = time.monotonic()
        self.data.mkdir(parents=True, exist_ok=True)
        try:
            load = await self._run_workers(started)
            if self.replayed:
                await self._catch_up_replay()
            await self._compare_stores(load)
        finally:
            await self.replay.close()
        self.report.seconds = round(time.monotonic() - started, 1)
        return self.report

    async def _run_workers(self, started: float) -> Load:
        """Start the workers, load and shake them, settle, compare live answers, stop them; the load's outcomes."""
        try:
            self.workers = [await self._start(f"w{k + 1}") for k in range(self.settings.workers)]
            await self._until(lambda: self._covered(self.workers), FAILOVER_BOUND_S, "every worker to serve")
            async with WorkerClient(
                self.url, self.modules.build(), TASKS, failover_timeout_s=FAILOVER_BOUND_S
            ) as client:
                if self.modules.setup is not None:
                    await self.modules.setup(client)
                    # A barrier, as a replay's stages are: the load starts once the setup was processed.
                    self.report.problems += [f"setup not settled: {line}" for line in await self._settled()]
                load = Load(client, self.modules, self.settings.seed, self.settings.rate)
                appending = asyncio.get_running_loop().create_task(load.run(self.settings.appenders))
                try:
                    await self._shake(client, load, started)
                finally:
                    load.stopping.set()
                    await appending
                self._count_appends(load)
                await self._settle_and_compare_live(client)
            self.report.problems += [
                f"{w.name} exited by itself ({w.process.returncode})" for w in self.workers if not w.alive
            ]
            return load
        finally:
            for worker in self.workers:
                await worker.stop()

    # -- shaking ---------------------------------------------------------------------------------------------

    async def _shake(self, client: WorkerClient, load: Load, started: float) -> None:
        """Kill, fail over, restart, again; a restart is sometimes (seeded) cut short by the next kill."""
        await self._until(lambda: len(load.acknowledged) >= 20, FAILOVER_BOUND_S, "the load to get going")
        joining: int | None = None  # index of a restarted worker whose rejoin the next kill interrupts
        while self._more_kills(started):
            if joining is None:
                await asyncio.sleep(self.rng.uniform(*self.settings.dwell_s))  # a random moment, not a wait
            record, index = await self._kill_and_fail_over(client, load, joining)
            restarted_at = time.monotonic()
            self.workers[index] = newcomer = await self._start(record.victim)
            joining = None
            if self._more_kills(started) and self.rng.random() < self.settings.overlap:
                joining = index  # kill again as soon as it is up and asking to join: mid-rebalance
                started_up = lambda worker=newcomer: bool(worker.events)  # noqa: E731  # its "listening" event
                await self._until(started_up, FAILOVER_BOUND_S, f"{newcomer.name} to start")
                continue
            await self._until(lambda: self._covered(self.workers), FAILOVER_BOUND_S, f"{record.victim} to rejoin")
            await self._every_task_answers(client)
            record.rejoined_s = round(time.monotonic() - restarted_at, 3)

    def _more_kills(self, started: float) -> bool:
        if self.settings.max_kills is not None:
            return len(self.report.kills) < self.settings.max_kills
        return time.monotonic() - started < self.settings.seconds

    async def _kill_and_fail_over(
        self, client: WorkerClient, load: Load, joining: int | None
    ) -> tuple[KillRecord, int]:
        """SIGKILL a random worker (not one still joining); time until its tasks answer and take appends again."""
        index = self.rng.choice([k for k in range(len(self.workers)) if k != joining])
        victim = self.workers[index]
        record = KillRecord(victim.name, sorted(victim.serving), during_rebalance=joining is not None)
        self.report.kills.append(record)
        killed_at = time.monotonic()
        victim.kill()
        await victim.process.wait()
        await self._every_task_answers(client)
        record.every_task_answering_s = round(time.monotonic() - killed_at, 3)
        lost = set(record.lost_tasks)
        try:
            await self._until(lambda: bool(load.acked_on(lost, killed_at)), FAILOVER_BOUND_S, "append on a lost task")
            record.first_append_on_lost_task_s = round(min(load.acked_on(lost, killed_at)) - killed_at, 3)
        except TimeoutError as exc:
            self.report.problems.append(str(exc))
        if victim.reader is not None:
            await victim.reader
        return record, index

    async def _every_task_answers(self, client: WorkerClient) -> None:
        """Ask each task the probe query; `call_task` retries (bounded) until the task's owner answers."""
        module, query = self.modules.probe
        body = {"module": module, "name": query, "args": [], "kwargs": {}}
        await asyncio.gather(*(client.call_task(task, "/query", body) for task in range(TASKS)))

    def _covered(self, workers: list[WorkerProcess]) -> bool:
        """Every worker serves some tasks, no task twice, every task once (per their latest events)."""
        served = [w.serving for w in workers if w.alive]
        union = set().union(*served) if served else set()
        return all(served) and union == set(range(TASKS)) and sum(map(len, served)) == TASKS

    async def _start(self, name: str) -> WorkerProcess:
        settings = self.settings
        return await start_worker(self.url, self.data, name, self.modules, TASKS, settings.session_timeout_ms)

    @staticmethod
    async def _until(done: Any, timeout_s: float, what: str) -> None:
        """Poll `done()` every 20 ms until true, TimeoutError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
            await asyncio.sleep(0.02)  # a bounded poll

    # -- verifying -------------------------------------------------------------------------------------------

    def _count_appends(self, load: Load) -> None:
        report = self.report
        report.sent = len(load.acknowledged) + len(load.unknown) + len(load.refused) + len(load.rejected)
        report.acknowledged, report.unknown_outcome = len(load.acknowledged), len(load.unknown)
        report.refused = len(load.refused)
        report.problems += load.rejected
        latencies = sorted(load.latencies)
        if latencies:
            report.append_latency_ms = {f"p{q}": _percentile_ms(latencies, q / 100) for q in (50, 99, 100)}

    async def _settle_and_compare_live(self, client: WorkerClient) -> None:
        """Wait for the cluster to catch up; replay the depots; compare what the workers answer and hold."""
        await self._until(lambda: self._covered(self.workers), FAILOVER_BOUND_S, "every task to be served")
        await self._every_task_answers(client)
        self.report.problems += [f"not settled: {line}" for line in await self._settled()]
        try:
            await self.replay.launch_staged(self.modules.build(), TASKS, self.modules.replay_stages, SETTLE_BOUND_S)
        except (TuskError, TimeoutError) as exc:  # say so, and still check the depots below
            self.replayed = False
            self.report.problems.append(f"the embedded replay did not finish: {exc!r}")
            return
        self.report.problems += await self.modules.live_checks(client, self.replay)

    async def _settled(self) -> list[str]:
        """Wait (bounded) until the workers consumed every source but ticks to the end; the lag left."""
        definitions = [m.definition() for m in self.modules.build()]
        storage = open_depot_storage(self.url, self.root, FsyncPolicy.ALWAYS)
        assert isinstance(storage, KafkaStorage)
        try:
            return (await wait_settled(self.data, definitions, TASKS, storage, SETTLE_BOUND_S))[:20]
        finally:
            await storage.close()

    async def _catch_up_replay(self) -> None:
        """With the workers stopped, let the replay read what they appended since (ticks) to the end."""
        try:
            await self.replay.catch_up(SETTLE_BOUND_S)
        except (TuskError, TimeoutError) as exc:
            self.replayed = False
            self.report.problems.append(f"the embedded replay did not catch up: {exc!r}")

    async def _compare_stores(self, load: Load) -> None:
        """With the workers stopped: depots exactly-once, the replay against a fold, every PState byte for byte."""
        replay, report = self.replay, self.report
        records: dict[tuple[str, str], list[Any]] = {}
        for module, depot in self.modules.load_depots:
            records[(module, depot)], gaps = await read_depot(replay.runtime(module).depot(depot)[1])
            report.problems += gaps
        seen = Counter(self.modules.record_id(r) for depot_records in records.values() for r in depot_records)
        report.depot_records = sum(seen.values())
        report.lost = len(load.acknowledged - seen.keys())
        report.duplicated = sum(1 for count in seen.values() if count > 1)
        report.unexpected = len(seen.keys() - load.acknowledged - load.unknown)
        if not self.replayed:
            return
        report.problems += await self.modules.fold_checks(replay, records)
        definitions = [replay.runtime(m.name).definition for m in self.modules.build()]
        report.pstate_mismatches = compare_pstates(self.data, replay, definitions)
        report.pstates_compared = pstate_sizes(replay, definitions)


async def run_chaos(
    broker_url: str, settings: ChaosSettings, modules: ChaosModules = LEDGER, root: Path | None = None
) -> ChaosReport:
    """Run the chaos test against `broker_url` (kafka://HOST:PORT/NAMESPACE, a namespace of its own)."""
    if root is not None:
        return await ChaosRun(broker_url, root, modules, settings).run()
    with tempfile.TemporaryDirectory(prefix="tusk-chaos-") as tmp:
        return await ChaosRun(broker_url, Path(tmp), modules, settings).run()


def main(args: Any) -> tuple[dict[str, Any], bool]:
    """Entry point of `tusk chaos-workers`: the report as JSON data, and whether it passed."""
    from cluster.workers.chaos_modules import module_set
    from cluster.workers.local_broker import local_tansu

    settings = ChaosSettings.quick(args.seed) if args.quick else ChaosSettings(seed=args.seed)
    settings = replace(
        settings,
        seconds=args.seconds if args.seconds is not None else settings.seconds,
        max_kills=args.kills if args.kills is not None else settings.max_kills,
        workers=args.workers,
        session_timeout_ms=args.session_timeout_ms,
    )
    modules = module_set(args.modules)
    namespace = f"chaos{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="tusk-chaos-") as tmp:
        root = args.data or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        if args.broker:
            report = asyncio.run(run_chaos(f"{args.broker.rstrip('/')}/{namespace}", settings, modules, root))
        else:
            with local_tansu(Path(tmp)) as bootstrap:
                report = asyncio.run(run_chaos(f"kafka://{bootstrap}/{namespace}", settings, modules, root))
    return report.to_json(), report.ok
