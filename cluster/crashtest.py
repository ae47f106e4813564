"""The SIGKILL test: a child process appends while topologies fold, and is killed at random moments.

`run_crashtest(seconds)` repeatedly starts a child that appends ledger transfers (acks `APPENDED` and
`PROCESSED`, many in flight) to an `InProcessCluster`, kills it with SIGKILL after a random delay, and then
checks the data directory from the parent:

- every acknowledged append is in the depot exactly once, and each partition's offsets are contiguous;
- every PState equals the fold of the depot up to the offsets its topology committed (no torn commit).

After the last kill the parent lets the topologies catch up and checks the fold of the whole depot.
`tusk crashtest --seconds S --json FILE` runs it and writes the counts.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from cluster.runtime import ModuleRuntime, offset_key
from depots.codec import decode_record
from modules.examples.ledger import Ledger, bucket_of

TASKS = 4
CONCURRENT_APPENDERS = 32
READY_TIMEOUT_S = 60.0


@dataclass
class CrashReport:
    """What a crash test run found; all of lost, duplicated, offset_gaps, pstate_mismatches must be 0."""

    kills: int = 0
    acked: int = 0
    appended: int = 0
    lost: int = 0
    duplicated: int = 0
    offset_gaps: int = 0
    pstate_mismatches: int = 0
    verifications: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing acknowledged was lost or doubled and every PState matched its fold."""
        return not (self.lost or self.duplicated or self.offset_gaps or self.pstate_mismatches)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {**asdict(self), "ok": self.ok}


# -- the child ---------------------------------------------------------------------------------------------


async def _child(data_dir: Path, acked_path: Path, generation: int, seed: int) -> None:
    cluster = InProcessCluster(data_dir)
    await cluster.launch(Ledger(), tasks=TASKS)
    acked_fd = os.open(acked_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    rng = random.Random(seed)
    counter = iter(range(1, 10**9))
    print("ready", flush=True)

    async def appender() -> None:
        while True:
            transfer_id = generation * 10**9 + next(counter)
            record = {"id": transfer_id, "account": f"acct{rng.randrange(40)}", "amount": rng.randint(-50, 100)}
            if record["amount"] == 0:
                record["amount"] = 1
            ack = Ack.PROCESSED if rng.random() < 0.5 else Ack.APPENDED
            await cluster.append("ledger", "*transfers", record, ack=ack)
            os.write(acked_fd, f"{transfer_id}\n".encode())  # one small O_APPEND write: never interleaved

    await asyncio.gather(*(appender() for _ in range(CONCURRENT_APPENDERS)))


def child_main(argv: list[str]) -> None:
    """Entry point of the child process: `python -m cluster.crashtest DATA ACKED GENERATION SEED`."""
    data_dir, acked_path, generation, seed = Path(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    asyncio.run(_child(data_dir, acked_path, generation, seed))


# -- the checks --------------------------------------------------------------------------------------------


def _read_acked(path: Path) -> set[int]:
    if not path.exists():
        return set()
    lines = path.read_text().split("\n")
    return {int(line) for line in lines[:-1] if line}  # the last piece may be torn by the kill


async def _depot_records(runtime: ModuleRuntime, report: CrashReport) -> list[list[dict[str, Any]]]:
    """Every durable record of each partition of *transfers, checking offsets are contiguous."""
    _, log = runtime.depot("*transfers")
    partitions: list[list[dict[str, Any]]] = []
    for partition in range(log.partitions):
        records: list[dict[str, Any]] = []
        end = log.durable_end(partition)
        while len(records) < end:
            entries = await log.read(partition, len(records), 10_000)
            for expected, entry in enumerate(entries, start=len(records)):
                if entry.offset != expected:
                    report.offset_gaps += 1
                    report.problems.append(f"partition {partition}: offset {entry.offset} where {expected} due")
            if not entries:
                report.offset_gaps += 1
                break
            records += [decode_record(e.payload) for e in entries]  # type: ignore[misc]
        partitions.append(records)
    return partitions


def _committed(runtime: ModuleRuntime, topology: str, partition: int) -> int:
    return runtime.committed_int(partition % runtime.tasks, offset_key(topology, "ledger", "*transfers", partition))


def _check_stream(runtime: ModuleRuntime, partitions: list[list[dict[str, Any]]], report: CrashReport) -> None:
    for partition, records in enumerate(partitions):
        balances: dict[str, int] = {}
        history: dict[str, dict[int, int]] = {}
        for r in records[: _committed(runtime, "balances", partition)]:
            balances[r["account"]] = balances.get(r["account"], 0) + r["amount"]
            history.setdefault(r["account"], {})[r["id"]] = r["amount"]
        task = partition % runtime.tasks
        live = dict(runtime.committed_view(task, "$$balances").range())
        if live != balances:
            report.pstate_mismatches += 1
            report.problems.append(f"$$balances on task {task} differs from the fold of partition {partition}")
        view = runtime.committed_view(task, "$$history")
        for account, expected in history.items():
            if dict(view.range(account)) != expected or view.size(account) != len(expected):
                report.pstate_mismatches += 1
                report.problems.append(f"$$history[{account}] on task {task} differs from its fold")


def _check_microbatch(runtime: ModuleRuntime, partitions: list[list[dict[str, Any]]], report: CrashReport) -> None:
    buckets: Counter[int] = Counter()
    for partition, records in enumerate(partitions):
        totals: dict[str, int] = {}
        for r in records[: _committed(runtime, "totals", partition)]:
            totals[r["account"]] = totals.get(r["account"], 0) + r["amount"]
            buckets[bucket_of(r["id"])] += 1
        task = partition % runtime.tasks
        if dict(runtime.committed_view(task, "$$totals").range()) != totals:
            report.pstate_mismatches += 1
            report.problems.append(f"$$totals on task {task} differs from the fold of partition {partition}")
    live: dict[int, int] = {}
    for task in range(runtime.tasks):
        live.update(dict(runtime.committed_view(task, "$$bucket_counts").range()))
    if live != dict(buckets):
        report.pstate_mismatches += 1
        report.problems.append(f"$$bucket_counts {live} differs from the fold {dict(buckets)}")


async def verify(data_dir: Path, acked: set[int], report: CrashReport, *, catch_up: bool = False) -> None:
    """Reopen `data_dir` and check the depot and every PState against the acknowledged ids."""
    cluster = InProcessCluster(data_dir)
    runtime = await cluster.launch(Ledger(), tasks=TASKS)
    if catch_up:
        await cluster.controls.wait_idle()
    else:  # look at exactly what the crash left: stop the topologies before they take a step
        for topology in ("balances", "totals"):
            cluster.controls.pause("ledger", topology)
    try:
        partitions = await _depot_records(runtime, report)
        seen = Counter(r["id"] for records in partitions for r in records)
        report.appended = sum(seen.values())
        report.lost = len(acked - seen.keys())
        report.duplicated = sum(1 for count in seen.values() if count > 1)
        _check_stream(runtime, partitions, report)
        _check_microbatch(runtime, partitions, report)
        report.verifications += 1
    finally:
        await cluster.close()


# -- the parent --------------------------------------------------------------------------------------------


def _start_child(data_dir: Path, acked_path: Path, generation: int, seed: int) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "cluster.crashtest", str(data_dir), str(acked_path), str(generation), str(seed)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def _wait_ready(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    line = child.stdout.readline()  # the child prints "ready" once launched
    if line.strip() != "ready" or time.monotonic() > deadline:
        child.kill()
        raise RuntimeError(f"crash test child did not start (said {line!r}, exit {child.poll()})")


def run_crashtest(seconds: float, *, seed: int = 1, data_dir: Path | None = None, min_kills: int = 1) -> CrashReport:
    """Kill and restart an appending child for about `seconds` and at least `min_kills` times, checking after each.

    `min_kills` makes the suite's quick run a fixed amount of work: on a loaded machine the time bound alone
    would give fewer kills (each restart and verification takes longer), not a weaker check.
    """
    rng = random.Random(seed)
    report = CrashReport()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tusk-crashtest-") as tmp:
        root = data_dir or Path(tmp)
        acked_path = root / "acked.txt"
        generation = 0
        while time.monotonic() - started < seconds or generation < min_kills:
            generation += 1
            child = _start_child(root / "data", acked_path, generation, rng.randrange(1 << 30))
            _wait_ready(child)
            time.sleep(rng.uniform(0.2, 1.5))  # a random moment in the child's life, not a test wait
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
            report.kills += 1
            acked = _read_acked(acked_path)
            asyncio.run(verify(root / "data", acked, report))
        acked = _read_acked(acked_path)
        report.acked = len(acked)
        asyncio.run(verify(root / "data", acked, report, catch_up=True))
    report.seconds = round(time.monotonic() - started, 1)
    return report


if __name__ == "__main__":
    child_main(sys.argv[1:])
