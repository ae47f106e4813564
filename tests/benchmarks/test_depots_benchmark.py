"""The depot storage benchmark runs the ledger end to end on each runtime's depots."""

from __future__ import annotations

from pathlib import Path

from benchmarks.depots import fresh_depots_url, run_depots_benchmark
from tests.runtimes import Runtime

FIGURES = {
    "append_many_appended",
    "stream_catch_up",
    "microbatch_catch_up",
    "append_processed",
    "cold_replay_microbatch",
}


def test_every_figure_is_measured(tmp_path: Path, runtime: Runtime) -> None:
    report = run_depots_benchmark(runtime.depots_url(tmp_path), count=2_000)
    assert report["records"] == 2_000
    assert set(report["rates_per_s"]) == FIGURES
    assert all(rate > 0 for rate in report["rates_per_s"].values())


def test_each_kafka_run_gets_fresh_topics() -> None:
    first = fresh_depots_url("kafka://127.0.0.1:9/bench")
    assert first.startswith("kafka://127.0.0.1:9/bench-") and first != fresh_depots_url("kafka://127.0.0.1:9/bench")
    assert fresh_depots_url("segment://") == "segment://"
