"""The SIGKILL test, in the quick form the suite runs (`tusk crashtest --seconds S` runs it longer)."""

from __future__ import annotations

import json
from pathlib import Path

from cluster.cli import main
from cluster.crashtest import run_crashtest


def test_random_kills_lose_and_double_nothing_acknowledged() -> None:
    report = run_crashtest(12.0, seed=11, min_kills=5)
    assert report.kills >= 5
    assert report.acked > 500  # the child really appended under load between kills
    assert report.ok, report.problems
    assert report.verifications == report.kills + 1


def test_cli_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "crash.json"
    assert main(["crashtest", "--seconds", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"kills", "acked", "lost", "duplicated", "pstate_mismatches"} <= report.keys()
    assert report["lost"] == report["duplicated"] == report["pstate_mismatches"] == 0
