"""Three `tusk worker` processes under load; a random one is SIGKILLed and restarted, four times (seeded);
once while a restarted worker is still joining the group.

After the load stops and the cluster settles: no acknowledged append is lost or in the depot twice, every
PState of every task equals, byte for byte, an embedded replay of the same depots, and that replay equals a
plain fold of the depot. Prints the failover figures (the long run is `tusk chaos-workers`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cluster.workers.chaos import ChaosSettings, run_chaos
from tests.workers.support import namespace_for


def test_three_workers_killed_at_random_lose_nothing_and_match_an_embedded_replay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"
    report = asyncio.run(run_chaos(url, ChaosSettings.quick(seed=3), root=tmp_path))
    summary = report.to_json()
    print("\n" + json.dumps({k: summary[k] for k in ("failover", "kills", "sent", "acknowledged", "seconds")}))

    assert not report.problems, report.problems
    assert not report.pstate_mismatches, report.pstate_mismatches
    assert len(report.kills) == 4
    assert any(kill.during_rebalance for kill in report.kills), "seed 3 kills once while a worker rejoins"
    assert all(kill.first_append_on_lost_task_s is not None for kill in report.kills)
    assert report.lost == 0 and report.duplicated == 0 and report.unexpected == 0
    assert report.acknowledged > 100
    assert report.depot_records >= report.acknowledged
    # every PState of the ledger was compared, and it held the load's transfers
    assert set(report.pstates_compared) == {
        "ledger/$$balances",
        "ledger/$$history",
        "ledger/$$totals",
        "ledger/$$bucket_counts",
    }
    assert report.pstates_compared["ledger/$$history"] >= report.depot_records
    assert report.ok
