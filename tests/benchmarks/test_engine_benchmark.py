"""`tusk bench engine --quick` runs end to end and reports every figure beside its raw twin.

The bars themselves are checked by running the benchmark, not here: a timed assertion in the suite would
fail on a busy machine and prove nothing on an idle one.
"""

from __future__ import annotations

import json
from pathlib import Path

from cluster.cli import main


def test_quick_engine_benchmark_reports_pairs_ratios_and_a_plot(tmp_path: Path) -> None:
    out, plot = tmp_path / "engine.json", tmp_path / "engine.png"
    assert main(["bench", "engine", "--quick", "--json", str(out), "--plot", str(plot)]) == 0
    report = json.loads(out.read_text())
    assert set(report["ratios"]) == {"microbatch_write", "point_read", "range_read"}
    assert all(ratio > 0 for ratio in report["ratios"].values())
    for operation in ("append_none", "append_appended", "append_processed", "stream", "microbatch"):
        assert report["engine_per_s"][operation] > 0
    for engine_rate, raw_rate in report["pairs"].values():
        assert engine_rate > 0 and raw_rate > 0
    assert report["bars"] == {"microbatch_write": 0.5, "point_read": 0.6, "range_read": 0.5}
    assert plot.read_bytes().startswith(b"\x89PNG")
