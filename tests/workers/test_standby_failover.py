"""Two `tusk worker --standbys 1` processes on separate data directories, each keeping the other's tasks warm;
one is SIGKILLed under load, and the survivor promotes its standbys: only the changelog's tail is replayed,
and its PStates equal an embedded replay.

Prints the failover time (kill -> first acknowledged append on a lost task) and each promotion's restore;
`tests/workers/test_changelog_failover.py` prints the same without standbys.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.workers.failover_support import kill_under_load, split_evenly, with_workers
from tests.workers.processes import WorkerProcess, launch_worker
from tests.workers.support import namespace_for, poll_until


async def start_worker(url: str, data: Path) -> WorkerProcess:
    """A worker with its own data directory and one standby per task."""
    data.mkdir(parents=True)
    return await launch_worker(url, data, data.name, "--standbys", "1", "--module", "ledger")


def warm_standbys(worker: WorkerProcess) -> set[int]:
    """Tasks whose standby this worker warmed up and has not stopped since."""
    warm: set[int] = set()
    for event in worker.events:
        if event["event"] == "standby":
            warm.add(event["task"])
        elif event["event"] in ("standby_stopped", "standby_failed"):
            warm.discard(event["task"])
    return warm


def test_the_survivor_promotes_its_warm_standbys_and_replays_only_the_tail(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def scenario() -> None:
        workers = [await start_worker(url, tmp_path / name) for name in ("machine-1", "machine-2")]
        await with_workers(workers, lambda: run(workers))

    async def run(workers: list[WorkerProcess]) -> None:
        async def state() -> list[tuple[set[int], set[int]]]:
            return [(w.serving, warm_standbys(w)) for w in workers]

        def split_and_warm(seen: list[tuple[set[int], set[int]]]) -> bool:
            (served_1, warm_1), (served_2, warm_2) = seen
            return split_evenly([served_1, served_2]) and warm_1 == served_2 and warm_2 == served_1

        await poll_until(state, split_and_warm, 60, "two tasks each, each kept warm by the other worker")
        victim, survivor = workers
        failover = await kill_under_load(url, tmp_path / "replay", victim, survivor)
        lost, load = failover.lost, failover.load

        promoted = [e for e in survivor.events if e["event"] == "standby_stopped" and e["reason"] == "promoted"]
        assert {e["task"] for e in promoted} == lost and all(e["state"] == "warm" for e in promoted)
        restores = [e for e in survivor.events if e["event"] == "restored" and e["task"] in lost]
        assert {e["task"] for e in restores} == lost
        assert {e["source"] for e in restores} == {"local"}  # the warm copy, not a cold restore
        written = {t: sum(1 for _, task, _ in load.acks if task == t) for t in lost}  # >= 1 commit per append
        assert all(e["records"] < written[e["task"]] for e in restores), (restores, written)  # only the tail
        failover.assert_exact()
        print(
            "\nfailover with standbys (SIGKILL -> first acknowledged append on a lost task): "
            f"{failover.failover_s:.2f} s; promotions: "
            + ", ".join(f"task {e['task']} {e['records']} records {e['seconds'] * 1e3:.0f} ms" for e in restores)
        )

    asyncio.run(scenario())
