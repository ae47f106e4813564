"""toot's own integration suite against a real `tusk run`: fetch its sdist, run it, read the outcomes.

The suite ships only in toot's source distribution (`tests/integration`, with `trumpet.png` two levels up),
so the sdist is downloaded once into `.cache/` and unpacked there; later runs are offline. The suite is run
with this environment's pytest in a subprocess rooted in the unpacked sdist (its `tests` package must not
meet ours) and reports through JUnit XML, with toot's request log kept so each failure names its route.

By hand:  python -m tests.e2e.toot_suite fetch | run [--base-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

TOOT_VERSION = "0.52.1"  # keep equal to the `toot` pin in pyproject.toml's `clients` extra
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "toot"
EXCLUSIONS = Path(__file__).with_name("toot_exclusions.txt")
SUITE_SECONDS = 240.0
TEST_SECONDS = 30  # one toot test; run_with_retries alone may wait ~6 s
FAILED_RESPONSE = re.compile(r"<-- (GET|POST|PUT|PATCH|DELETE) (\S+) HTTP ([45]\d\d)")


@dataclass
class Outcome:
    """One toot test's result: passed or not, the error, and the failing HTTP responses it met."""

    test_id: str
    passed: bool
    message: str = ""
    failed_responses: list[str] = field(default_factory=list)


def source_dir() -> Path:
    """Return the unpacked toot sdist, downloading it from PyPI on first use."""
    unpacked = CACHE / f"toot-{TOOT_VERSION}"
    if (unpacked / "tests" / "integration" / "conftest.py").exists():
        return unpacked
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = CACHE / f"toot-{TOOT_VERSION}.tar.gz"
    if not archive.exists():
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps"]
        subprocess.run([*pip, f"toot=={TOOT_VERSION}", "--dest", str(CACHE)], check=True, timeout=300)
    with tarfile.open(archive) as sdist:
        sdist.extractall(CACHE, filter="data")
    return unpacked


def exclusions() -> dict[str, str]:
    """Return the excluded test ids (`tests/integration/FILE.py::NAME`) with their reasons."""
    excluded: dict[str, str] = {}
    for line in EXCLUSIONS.read_text().splitlines():
        test_id, _, reason = line.partition("#")
        if test_id.strip():
            excluded[test_id.strip()] = reason.strip()
    return excluded


def run_suite(base_url: str, work_dir: Path, timeout: float = SUITE_SECONDS) -> list[Outcome]:
    """Run the whole suite against `base_url` and return every test's outcome."""
    source = source_dir()
    report = work_dir / "toot-junit.xml"
    home = work_dir / "home"  # toot's config and caches, away from the real home
    home.mkdir(exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/integration",
        "-c",
        "pytest.ini",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--timeout={TEST_SECONDS}",
        f"--junitxml={report}",
        "-o",
        "junit_logging=all",
        "--log-level=DEBUG",
    ]
    env = {**os.environ, "TOOT_TEST_BASE_URL": base_url, "HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    env.pop("PYTHONPATH", None)
    completed = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, timeout=timeout)
    if not report.exists():
        raise RuntimeError(f"toot's suite produced no report:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}")
    return read_report(report)


def read_report(report: Path) -> list[Outcome]:
    """Return the outcomes in a JUnit XML report of the suite."""
    outcomes = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        test_id = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        logs = " ".join(child.text or "" for child in case if child.tag in ("system-out", "system-err"))
        responses = [" ".join(match) for match in FAILED_RESPONSE.findall(logs)]
        message = problems[0].get("message", "") if problems else ""
        outcomes.append(Outcome(test_id, not problems, message.splitlines()[0] if message else "", responses))
    return outcomes


def _print_outcomes(outcomes: list[Outcome]) -> None:
    excluded = exclusions()
    for outcome in outcomes:
        state = "pass" if outcome.passed else "FAIL"
        mark = " (excluded)" if outcome.test_id in excluded else ""
        print(f"{state} {outcome.test_id}{mark}")
        if not outcome.passed:
            print(f"     {outcome.message[:200]}")
            for response in dict.fromkeys(outcome.failed_responses):
                print(f"     {response}")
    passed = sum(outcome.passed for outcome in outcomes)
    print(f"{passed} passed, {len(outcomes) - passed} failed")


def main(argv: list[str] | None = None) -> int:
    """Fetch toot's suite, or run it against a server (a fresh `tusk run` unless --base-url is given)."""
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.toot_suite")
    parser.add_argument("command", choices=["fetch", "run"])
    parser.add_argument("--base-url", help="an already running server (default: start a fresh tusk run)")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(source_dir())
        return 0
    from tests.e2e.server import TuskServer

    with tempfile.TemporaryDirectory(prefix="tusk-toot-") as scratch:
        if args.base_url:
            outcomes = run_suite(args.base_url, Path(scratch))
        else:
            with TuskServer(Path(scratch) / "data") as server:
                outcomes = run_suite(server.base_url, Path(scratch))
    _print_outcomes(outcomes)
    return 0 if all(o.passed or o.test_id in exclusions() for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
