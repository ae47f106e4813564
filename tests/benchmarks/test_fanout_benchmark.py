"""`tusk bench fanout --profile tiny` runs end to end: every figure present, every delivery counted.

No speed bar is asserted: a timed assertion would fail on a busy machine and prove nothing on an idle one.
"""

from __future__ import annotations

import json
from pathlib import Path

from cluster.cli import main

KEYS = {
    "profile",
    "accounts",
    "follows",
    "follows_per_s",
    "avg_fanout",
    "max_followers",
    "statuses",
    "statuses_per_s",
    "deliveries",
    "deliveries_owed",
    "deliveries_per_s",
    "overall_statuses_per_s",
    "overall_deliveries_per_s",
    "fanout_ordinary",
    "fanout_celebrity",
    "home_read",
    "celebrity_posts",
    "fanout_backlog_at_end",
    "peak_rss_mb",
    "series",
}


def test_tiny_fanout_benchmark_reports_every_figure_and_a_plot(tmp_path: Path) -> None:
    out, plot = tmp_path / "fanout.json", tmp_path / "fanout.png"
    assert (
        main(["bench", "fanout", "--profile", "tiny", "--seconds", "3", "--json", str(out), "--plot", str(plot)]) == 0
    )
    report = json.loads(out.read_text())
    assert set(report) >= KEYS
    assert report["accounts"] == 1_000 and report["follows"] > 15_000 and report["follows_per_s"] > 0
    assert report["deliveries"] > 0 and report["deliveries"] == report["deliveries_owed"]
    assert report["statuses_per_s"] > 0 and report["deliveries_per_s"] > 0
    assert report["follows_per_cpu_s"] > 0 and report["deliveries_per_cpu_s"] > 0
    assert report["celebrity_posts"] >= 1 and report["fanout_backlog_at_end"] == 0
    for latency in ("fanout_ordinary", "fanout_celebrity", "home_read"):
        assert report[latency]["samples"] > 0
        assert 0 < report[latency]["p50_ms"] <= report[latency]["p99_ms"]
    assert report["peak_rss_mb"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG")
