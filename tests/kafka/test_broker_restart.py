"""Restarting the broker and its storage loses no acknowledged append (issue 5).

An embedded cluster runs the ledger on `kafka://` depots of tansu whose storage is SeaweedFS S3. Eight
appenders keep `Ack.APPENDED` appends in flight; tansu (and, in one variant, SeaweedFS too) is SIGKILLed
mid-load and restarted on the same data and ports. Two outcomes are possible, and the test asserts each:

* clean retry (the usual one): the depot log retries within its outage bound, no append fails, appends in
  flight just wait and complete once the broker is back. Every transfer is then in the depot exactly once
  (read back from the broker) and the live PStates equal both the fold of the acknowledged transfers and
  an embedded replay of the depot.
* a hole: tansu 0.6.0 on S3 raises a partition's watermark before writing the batch, so a kill between the
  two leaves offsets with no records. The log then fails with `LostRecordsError` naming it (appends after
  it raise `LogFailedError`), never acknowledging anything there; every acknowledged transfer is still in
  the depot exactly once, the live PStates equal their fold, and a reader of that partition stops at the
  hole with the same clear error.

The resume time (restart done -> first acknowledgement) and the outcome are printed: run with `-s`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.inprocess import InProcessCluster
from depots.codec import decode_record
from depots.errors import LogFailedError, LostRecordsError
from depots.kafka_log import KafkaDepotLog
from modules.examples.ledger import Ledger
from tests.tansu import DurableTansu
from tests.workers.support import namespace_for, poll_until, replay_ledger

ACCOUNTS = [f"acct-{n}" for n in range(12)]
APPENDERS = 8
BEFORE_KILL = 300  # acknowledged appends before the kill
AFTER_RESTART = 300  # acknowledged appends after the restart, before the load stops
LOAD_BOUND_S = 60.0


@dataclass
class Load:
    """Appenders of transfers with unique ids; what was acknowledged (and when), what failed."""

    cluster: InProcessCluster
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    acked: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    stopping: bool = False

    async def appender(self, lane: int) -> None:
        """Append one transfer at a time until stopped or an append fails; record each outcome."""
        while not self.stopping:
            transfer_id = next(self.ids)
            record = {"id": transfer_id, "account": ACCOUNTS[transfer_id % len(ACCOUNTS)], "amount": lane + 1}
            try:
                await self.cluster.append("ledger", "*transfers", record, ack=Ack.APPENDED)
            except Exception as exc:
                self.failures.append(exc)
                return
            self.acked.append((time.monotonic(), transfer_id, record))

    async def progress(self) -> tuple[int, int]:
        """Acknowledged appends and failed appenders so far (a probe for `poll_until`)."""
        return len(self.acked), len(self.failures)

    def acked_ids(self) -> list[int]:
        """The ids of the acknowledged transfers."""
        return [transfer_id for _, transfer_id, _ in self.acked]

    def folded(self) -> dict[str, int]:
        """The balances the acknowledged transfers add up to."""
        balances = dict.fromkeys(ACCOUNTS, 0)
        for _, _, record in self.acked:
            balances[record["account"]] += record["amount"]
        return balances


@dataclass
class DepotContents:
    """Transfer ids read back from every partition, and the hole each partition stopped at (if any)."""

    ids: list[int]
    holes: dict[int, LostRecordsError]


async def read_depot(bootstrap: str, topic: str, partitions: int) -> DepotContents:
    """Read every partition of the depot topic back from the broker with a fresh log, up to a hole if any."""
    log = await KafkaDepotLog.open(bootstrap, topic, partitions)
    contents = DepotContents([], {})
    try:
        for partition in range(partitions):
            offset = 0
            while offset < log.durable_end(partition):
                try:
                    entries = await log.read(partition, offset, log.durable_end(partition) - offset)
                except LostRecordsError as hole:
                    contents.holes[partition] = hole
                    break
                contents.ids += [_transfer_id(entry.payload) for entry in entries]
                offset = entries[-1].offset + 1
        return contents
    finally:
        await log.close()


def _transfer_id(payload: bytes) -> int:
    """The id of an encoded transfer."""
    record = decode_record(payload)
    assert isinstance(record, dict)
    return int(record["id"])


async def settled(cluster: InProcessCluster) -> None:
    """Wait until every topology has processed every durable record (`wait_idle` would flush a failed log)."""

    async def backlog() -> int:
        cluster.raise_failures()
        return sum(runner.backlog() for runner in cluster.runners.values()) + (not cluster.quiescent())

    await poll_until(backlog, lambda left: left == 0, LOAD_BOUND_S, "the topologies to catch up")


async def run_through_restart(broker: DurableTansu, data: Path, *, storage_too: bool) -> None:
    """Load, kill, restart, load more; check either outcome (see the module docstring)."""
    url = f"kafka://{broker.bootstrap}/{namespace_for(data)}"
    cluster = InProcessCluster(data / "live", depots=url)
    runtime = await cluster.launch(Ledger(), tasks=4)
    load = Load(cluster)
    appenders = [asyncio.create_task(load.appender(lane)) for lane in range(APPENDERS)]
    try:
        await poll_until(load.progress, lambda p: p[0] >= BEFORE_KILL, LOAD_BOUND_S, "appends before the kill")
        killed_at = time.monotonic()
        broker.kill_all() if storage_too else broker.kill_broker()
        acked_at_kill = len(load.acked)
        await asyncio.to_thread(broker.start)  # blocking subprocess polls: off the loop, appenders keep waiting
        restarted_at = time.monotonic()

        def resumed_or_failed(progress: tuple[int, int]) -> bool:
            return progress[0] >= acked_at_kill + AFTER_RESTART or progress[1] == APPENDERS

        await poll_until(load.progress, resumed_or_failed, LOAD_BOUND_S, "appends to resume (or fail)")
    finally:
        load.stopping = True
        await asyncio.gather(*appenders)
    after = [at for at, _, _ in load.acked[acked_at_kill:]]
    outcome = "clean retry" if not load.failures else f"hole: {load.failures[0]}"
    resumed = f"first acknowledgement {min(after) - restarted_at:.3f} s after the restart" if after else "no resume"
    what = "tansu + SeaweedFS" if storage_too else "tansu"
    print(f"\nrestart of {what}: down {restarted_at - killed_at:.2f} s, {resumed}; {len(load.acked)} acked; {outcome}")

    await settled(cluster)
    live = {account: await cluster.query("ledger", "balance", account) for account in ACCOUNTS}
    live_count = await cluster.query("ledger", "total_count")
    partitions = runtime.depot("*transfers")[1].partitions
    await cluster.close()
    acknowledged = load.acked_ids()
    assert len(acknowledged) == len(set(acknowledged)) >= BEFORE_KILL
    assert live == load.folded()  # the live PStates hold exactly the acknowledged transfers
    assert live_count == len(acknowledged)

    topic = KafkaStorage(broker.bootstrap, namespace_for(data)).topic_for("ledger", "*transfers")
    depot = await read_depot(broker.bootstrap, topic, partitions)
    in_depot = Counter(depot.ids)
    assert [i for i, n in in_depot.items() if n > 1] == []  # nothing written twice
    assert set(acknowledged) <= set(in_depot)  # every acknowledged append kept
    if not load.failures:
        assert depot.holes == {}
        assert len(acknowledged) >= acked_at_kill + AFTER_RESTART
        assert set(in_depot) == set(acknowledged)  # appends in flight at the kill were retried, none lost
        replayed, count, ids = await replay_ledger(data / "replay", url, ACCOUNTS)
        assert (live, live_count, set(acknowledged)) == (replayed, count, ids)
        return
    for failure in load.failures:  # the only error a restart may give: the hole, named, never a wrong offset
        cause = failure if isinstance(failure, LostRecordsError) else failure.__cause__
        assert isinstance(failure, LostRecordsError | LogFailedError) and isinstance(cause, LostRecordsError)
    assert "no records from offset" in str(load.failures[0]) and topic in str(load.failures[0])
    assert depot.holes  # a reader stops at the hole with the same clear error
    assert all(topic in str(hole) for hole in depot.holes.values())


def test_killing_tansu_and_its_storage_mid_load_loses_no_acknowledged_append(
    durable_broker: DurableTansu, tmp_path: Path
) -> None:
    asyncio.run(run_through_restart(durable_broker, tmp_path, storage_too=True))


def test_killing_only_tansu_mid_load_loses_no_acknowledged_append(durable_broker: DurableTansu, tmp_path: Path) -> None:
    asyncio.run(run_through_restart(durable_broker, tmp_path, storage_too=False))
