"""A masto.js (npm `masto`) client scenario against `tusk run`: every step passes but the listed ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.server import TuskServer

pytestmark = pytest.mark.slow

SCENARIO_DIR = Path(__file__).with_name("mastojs")
INSTALL_SECONDS = 300
SCENARIO_SECONDS = 150  # ten steps of at most 15 s each
STEPS = (
    "login",
    "follow",
    "stream_subscribe",
    "upload_media",
    "post_with_media",
    "post",
    "home_timeline_paginated",
    "stream_update",
    "favourite",
    "notification",
)


def install_masto() -> None:
    """Run `npm ci` unless node_modules already matches package-lock.json (make e2e-deps does the same)."""
    marker = SCENARIO_DIR / "node_modules" / ".package-lock.json"
    lock = SCENARIO_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(command, cwd=SCENARIO_DIR, check=True, capture_output=True, timeout=INSTALL_SECONDS)


@pytest.fixture(scope="module")
def results(tusk_server: TuskServer) -> dict[str, dict[str, object]]:
    """Run the scenario once against the server; return each step's JSON line by step name."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the masto.js scenario cannot run")
    install_masto()
    env = {**os.environ, "TUSK_BASE_URL": tusk_server.base_url}
    completed = subprocess.run(
        ["node", "scenario.mjs"], cwd=SCENARIO_DIR, env=env, capture_output=True, text=True, timeout=SCENARIO_SECONDS
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    assert completed.returncode == 0, f"scenario crashed:\n{completed.stdout}\n{completed.stderr[-4000:]}"
    return {str(line["step"]): line for line in lines}


def test_scenario_reports_every_step(results: dict[str, dict[str, object]]) -> None:
    assert tuple(results) == STEPS


@pytest.mark.parametrize("step", STEPS)
def test_step_passes(results: dict[str, dict[str, object]], step: str, tusk_server: TuskServer) -> None:
    result = results[step]
    assert result["ok"] is True, f"{step}: {result.get('error')}\n--- server log ---\n{tusk_server.log_tail()}"
