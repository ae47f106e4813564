"""`tusk bench fanout --runtime kafka --workers 1 --profile tiny` runs end to end on a worker process.

Same JSON as the embedded benchmark plus the runtime's fields; every owed delivery counted by the
workers' counters. No speed bar: a timed assertion proves nothing on a shared machine.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.fanout_workers import WorkerFanoutRun
from cluster.cli import main
from tests.benchmarks.test_fanout_benchmark import KEYS


def test_tiny_fanout_benchmark_on_one_worker_reports_the_embedded_figures_and_its_runtime(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    out = tmp_path / "fanout.json"
    command = ["bench", "fanout", "--runtime", "kafka", "--workers", "1", "--profile", "tiny", "--seconds", "5"]
    assert main([*command, "--broker", f"kafka://{kafka_bootstrap}", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report) >= KEYS | {"runtime", "workers", "by_workers", "ratios", "rebalances_after_split"}
    assert report["runtime"] == "kafka" and report["workers"] == 1 and report["rebalances_after_split"] == 0
    assert report["accounts"] == 1_000 and report["follows"] > 15_000
    assert report["deliveries"] > 0 and report["deliveries"] == report["deliveries_owed"]
    # Fanout on workers can lag past the short steady window on a loaded machine: the overall rates always count.
    assert report["statuses_per_s"] > 0 and report["overall_deliveries_per_s"] > 0
    assert report["fanout_backlog_at_end"] == 0 and report["probes_not_seen"] == 0
    for latency in ("fanout_ordinary", "home_read"):
        assert report[latency]["samples"] > 0
        assert 0 < report[latency]["p50_ms"] <= report[latency]["p99_ms"]
    assert report["by_workers"]["1"]["statuses_per_s"] == report["statuses_per_s"]


class _CountingClient:
    """Answers `home_deliveries` with `made`, while posts go on (`owed` grows) during the request."""

    def __init__(self, run: WorkerFanoutRun, made: int, posted_meanwhile: int) -> None:
        self.run, self.made, self.posted_meanwhile = run, made, posted_meanwhile

    async def query(self, module: str, name: str, *args: Any) -> int:
        assert (module, name) == ("core", "home_deliveries")
        self.run.owed += self.posted_meanwhile
        return self.made


def test_the_lag_compares_a_count_with_what_was_owed_when_it_was_asked_for() -> None:
    counts = np.array([3, 1, 0, 2])
    run = WorkerFanoutRun(None, np.arange(4), counts, {0: [1]}, 1.0, np.random.default_rng(1))  # type: ignore[arg-type]
    run.cluster = _CountingClient(run, made=800, posted_meanwhile=500)  # type: ignore[assignment]
    run.owed = 1_000
    asyncio.run(run.refresh())
    assert run.owed == 1_500
    assert run.lag_s(delivery_rate=1_000.0) == 0.2  # (1,000 owed then - 800 made) / 1,000 per second
