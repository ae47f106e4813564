"""Every Mastodon module on three `tusk worker` processes; a random one is SIGKILLed and restarted twice (seeded).

Setup (no kills): 40 accounts and a power-law follow graph. Load: statuses, self-replies and favourites of
statuses read back. After the load stops and the cluster settles: no acknowledged append is lost or in the
depot twice, every PState of every module and task equals, byte for byte, an embedded replay of the same
depots (its own internal depots, the workers' ticks, run in causal stages), every home timeline answered by
the workers equals the replay's, and the replay equals a fold of the depots (statuses by uuid, favourites).
The session timeout is 3 s, as the ledger's chaos test: it used to be 6 s because the group's heartbeats ran
on the worker's main loop, which topology code blocks on reads of a dead worker's tasks; the membership now
has a thread of its own (`cluster.workers.membership`, `tests/workers/test_membership.py`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

from cluster.workers.chaos import ChaosSettings, run_chaos
from cluster.workers.chaos_modules import module_set
from tests.workers.support import namespace_for

MASTODON_QUICK = replace(ChaosSettings.quick(seed=3), max_kills=2, rate=60.0, session_timeout_ms=3_000)


def test_mastodon_workers_killed_at_random_lose_nothing_and_match_an_embedded_replay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"
    report = asyncio.run(run_chaos(url, MASTODON_QUICK, module_set("mastodon"), root=tmp_path))
    summary = report.to_json()
    print("\n" + json.dumps({k: summary[k] for k in ("failover", "kills", "sent", "acknowledged", "seconds")}))

    assert not report.problems, report.problems
    assert not report.pstate_mismatches, report.pstate_mismatches
    assert len(report.kills) == 2
    assert all(kill.first_append_on_lost_task_s is not None for kill in report.kills)
    assert report.lost == 0 and report.duplicated == 0 and report.unexpected == 0
    assert report.acknowledged > 100
    assert report.depot_records >= report.acknowledged
    compared = report.pstates_compared
    # the load reached the PStates that were compared: statuses, replies, favourites, their notifications
    assert compared["core/$$status_by_uuid"] >= report.acknowledged // 2
    assert compared["core/$$replies"] > 0 and compared["core/$$favourited_by"] > 0
    assert compared["notifications/$$notifications"] > 0 and compared["relationships/$$followers"] > 0
    assert report.ok
