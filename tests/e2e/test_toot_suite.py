"""toot's own integration suite (from its PyPI sdist) passes against `tusk run`, less the listed exclusions."""

from __future__ import annotations

import pytest

from tests.e2e.server import TuskServer
from tests.e2e.toot_suite import Outcome, exclusions, run_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes(tusk_server: TuskServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every toot integration test's outcome against the server, by test id (one run of the whole suite)."""
    found = run_suite(tusk_server.base_url, tmp_path_factory.mktemp("toot"))
    return {outcome.test_id: outcome for outcome in found}


def test_every_test_not_excluded_passes(outcomes: dict[str, Outcome], tusk_server: TuskServer) -> None:
    excluded = exclusions()
    failing = [o for o in outcomes.values() if not o.passed and o.test_id not in excluded]
    report = "\n".join(f"{o.test_id}: {o.message} {sorted(set(o.failed_responses))}" for o in failing)
    assert not failing, f"toot tests failing against tusk:\n{report}\n--- server log ---\n{tusk_server.log_tail()}"
    assert sum(o.passed for o in outcomes.values()) >= 40  # passing when this harness landed; it only grows


def test_no_excluded_test_passes(outcomes: dict[str, Outcome]) -> None:
    now_passing = sorted(test_id for test_id in exclusions() if test_id in outcomes and outcomes[test_id].passed)
    assert not now_passing, f"these pass now: delete their lines from tests/e2e/toot_exclusions.txt: {now_passing}"


def test_exclusions_name_real_tests(outcomes: dict[str, Outcome]) -> None:
    unknown = sorted(set(exclusions()) - set(outcomes))
    assert not unknown, f"tests/e2e/toot_exclusions.txt names tests toot's suite does not have: {unknown}"
    assert len(outcomes) == 114  # toot 0.52.1's integration suite; a new pin changes this on purpose
