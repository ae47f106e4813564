"""`tusk bench depots --depots URL`: the ledger example end to end on one depot storage, segment logs or Kafka.

On a fresh data directory (and, for Kafka, a fresh namespace), with 4 tasks:

| figure | what is timed |
|---|---|
| `append_many_appended` | `append_many` of every transfer, 1,000 a call, `Ack.APPENDED`, topologies paused |
| `stream_catch_up` | the `balances` stream topology consuming that backlog (reads from the depot + PState writes) |
| `microbatch_catch_up` | the `totals` microbatch topology consuming the same backlog |
| `append_processed` | single appends with `Ack.PROCESSED`, 256 in flight (append, durable, stream, result) |
| `cold_replay_microbatch` | a second cluster with empty PStates folding the same depots (reads from disk / broker) |

Rates are records per second of one run; the machine is shared, so compare runs made back to back.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cluster.client import Ack
from cluster.inprocess import InProcessCluster
from modules.examples.ledger import Ledger

LEDGER = "ledger"
APPEND_CALL = 1_000
IN_FLIGHT = 256


def fresh_depots_url(url: str) -> str:
    """`url` with a namespace of this run's own for Kafka (a benchmark must start from empty topics)."""
    parts = urlsplit(url)
    if parts.scheme != "kafka":
        return url
    namespace = parts.path.strip("/") or "bench"
    return urlunsplit(parts._replace(path=f"/{namespace}-{time.time_ns()}"))


def _transfer(i: int) -> dict[str, Any]:
    return {"id": i, "account": f"acct{i % 1_000}", "amount": 1 + i % 9}


async def _timed(work: Any) -> float:
    """Seconds `work` (an awaitable) takes."""
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def _append_processed(cluster: InProcessCluster, first: int, count: int) -> None:
    """Append `count` transfers one at a time with `Ack.PROCESSED`, `IN_FLIGHT` of them at once."""

    async def worker(offset: int) -> None:
        for i in range(first + offset, first + count, IN_FLIGHT):
            await cluster.append(LEDGER, "*transfers", _transfer(i))

    await asyncio.gather(*(worker(offset) for offset in range(IN_FLIGHT)))


async def _measure(url: str, data_dir: Path, count: int) -> dict[str, float]:
    """Run the four measurements on one cluster; return records per second for each."""
    rates: dict[str, float] = {}
    async with InProcessCluster(data_dir, depots=url) as cluster:
        await cluster.launch(Ledger(), tasks=4)
        for topology in ("balances", "totals"):
            cluster.controls.pause(LEDGER, topology)
        transfers = [_transfer(i) for i in range(count)]
        calls = [transfers[i : i + APPEND_CALL] for i in range(0, count, APPEND_CALL)]
        seconds = await _timed(
            asyncio.gather(*(cluster.append_many(LEDGER, "*transfers", call, ack=Ack.APPENDED) for call in calls))
        )
        rates["append_many_appended"] = count / seconds
        for topology in ("balances", "totals"):
            cluster.controls.resume(LEDGER, topology)
            seconds = await _timed(cluster.controls.wait_processed(LEDGER, topology, count, timeout_s=600))
            rates[f"{'stream' if topology == 'balances' else 'microbatch'}_catch_up"] = count / seconds
        processed = max(IN_FLIGHT, count // 4)
        rates["append_processed"] = processed / await _timed(_append_processed(cluster, count, processed))
        await cluster.controls.wait_idle()
        folded = await cluster.query(LEDGER, "total_count")
        if folded != count + processed:
            raise RuntimeError(f"the ledger folded {folded} transfers of {count + processed}")
    return rates


async def _cold_replay(url: str, data_dir: Path, count: int) -> float:
    """Rate at which a cluster with no PStates and no cached entries folds `count` records of existing depots."""
    async with InProcessCluster(data_dir, depots=url) as cluster:
        await cluster.launch(Ledger(), tasks=4)
        cluster.controls.pause(LEDGER, "balances")
        return count / await _timed(cluster.controls.wait_processed(LEDGER, "totals", count, timeout_s=600))


def run_depots_benchmark(url: str, count: int = 100_000) -> dict[str, Any]:
    """Measure the ledger on the depot storage `url`; return the report."""
    depots = fresh_depots_url(url)
    with tempfile.TemporaryDirectory(prefix="tusk-bench-depots-") as scratch:
        live, replay = Path(scratch) / "live", Path(scratch) / "replay"
        if depots == "segment://":  # the replay cluster reads the live one's segment logs
            depots = f"segment://{live}"
        rates = asyncio.run(_measure(depots, live, count))
        total = count + max(IN_FLIGHT, count // 4)
        rates["cold_replay_microbatch"] = asyncio.run(_cold_replay(depots, replay, total))
    return {"depots": depots, "records": count, "rates_per_s": {name: round(rate) for name, rate in rates.items()}}
