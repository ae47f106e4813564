"""Faults on Kafka depots give a clear error or a clean retry, never a silently wrong PState (issue 5).

* an unreachable broker at start: the CLI and the client fail within a bound, naming the address;
* the broker dies while a stream topology catches up from it: the topology's reads retry and, once the
  broker is back, it finishes with exactly the PStates of the depot (nothing lost, nothing doubled);
* a record in a depot topic that the depot log did not write (garbage produced with aiokafka): the
  topology stops at it with an error naming topic, partition and offset; the records before it are
  applied, none after it.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.inprocess import InProcessCluster
from cluster.stream_runner import StreamRunner
from depots.errors import BrokerUnavailableError, CorruptLogError
from modules.examples.ledger import Ledger
from tests.tansu import DurableTansu, free_port
from tests.workers.support import namespace_for, poll_until

ACCOUNTS = [f"acct-{n}" for n in range(8)]
BOUND_S = 60.0


def transfers(first: int, count: int) -> list[dict[str, Any]]:
    """Transfers with ids first..first+count-1 over the test's accounts."""
    return [{"id": i, "account": ACCOUNTS[i % len(ACCOUNTS)], "amount": 1 + i % 5} for i in range(first, first + count)]


def folded(records: list[dict[str, Any]]) -> dict[str, int]:
    """The balances `records` add up to."""
    balances = dict.fromkeys(ACCOUNTS, 0)
    for record in records:
        balances[record["account"]] += record["amount"]
    return balances


async def balances_of(cluster: InProcessCluster) -> dict[str, int]:
    """The ledger's committed balances."""
    return {account: await cluster.query("ledger", "balance", account) for account in ACCOUNTS}


# -- an unreachable broker at start ------------------------------------------------------------------------


def test_the_cli_names_an_unreachable_broker_in_one_line_within_the_bound(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    tusk = Path(sys.executable).parent / "tusk"
    started = time.monotonic()
    result = subprocess.run(
        [str(tusk), "worker", "--broker", f"kafka://{address}/faults", "--data", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"tusk: error: Kafka broker {address} unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 10.0 + 10.0  # the 10 s connect bound, plus the interpreter's start on a busy machine


def test_the_client_names_an_unreachable_broker_within_the_bound(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"

    async def scenario() -> None:
        async with InProcessCluster(tmp_path, depots=f"kafka://{address}/faults?connect_timeout_s=2") as cluster:
            with pytest.raises(BrokerUnavailableError, match=f"Kafka broker {address} unreachable"):
                await cluster.launch(Ledger(), tasks=4)

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 4.0


def test_a_depots_url_with_an_unknown_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown option 'timeout'"):
        InProcessCluster(tmp_path, depots="kafka://127.0.0.1:9092/x?timeout=3")


# -- the broker dies while a stream topology runs ----------------------------------------------------------


def test_a_stream_topology_reading_from_a_dead_broker_retries_and_finishes_exactly(
    durable_broker: DurableTansu, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"kafka://{durable_broker.bootstrap}/{namespace_for(tmp_path)}"
    records = transfers(1, 16_000)  # 4 passes of 1,000 records per partition
    caplog.set_level(logging.WARNING, logger="depots.kafka_produce")

    async def scenario() -> None:
        async with InProcessCluster(tmp_path / "writer", depots=url) as writer:
            await writer.launch(Ledger(), tasks=4)
            await writer.append_many("ledger", "*transfers", records, ack=Ack.APPENDED)
        # A fresh cluster folds the depot again: its reads come from the broker, 1,000 records a group.
        async with InProcessCluster(tmp_path / "reader", depots=url) as reader:
            await reader.launch(Ledger(), tasks=4)
            await reader.controls.wait_processed("ledger", "balances", 1_000, timeout_s=BOUND_S)
            reader.controls.pause("ledger", "balances")
            runner = reader.runner("ledger", "balances")
            assert isinstance(runner, StreamRunner) and runner.backlog() > 0  # mid-run: records left to read
            durable_broker.kill_broker()  # nothing is produced now, so nothing is half-written
            reader.controls.resume("ledger", "balances")

            async def retrying() -> bool:
                return "failed (" in caplog.text and "retrying" in caplog.text

            await poll_until(retrying, bool, BOUND_S, "a read to fail and retry")
            await asyncio.to_thread(durable_broker.start)
            await reader.controls.wait_idle(timeout_s=BOUND_S)
            assert await balances_of(reader) == folded(records)  # nothing lost, nothing applied twice
            assert await reader.query("ledger", "total_count") == len(records)
        assert "succeeded again" in caplog.text

    asyncio.run(scenario())


# -- a record the depot log did not write ------------------------------------------------------------------


def test_a_foreign_record_in_a_depot_topic_stops_the_topology_at_it(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"
    topic = KafkaStorage(kafka_bootstrap, namespace_for(tmp_path)).topic_for("ledger", "*transfers")
    before, after = transfers(1, 200), transfers(201, 100)

    async def scenario() -> None:
        async with InProcessCluster(tmp_path / "writer", depots=url) as writer:
            runtime = await writer.launch(Ledger(), tasks=4)
            placed = await writer.append_many("ledger", "*transfers", before, ack=Ack.APPENDED)
            garbage_at = runtime.depot("*transfers")[1].durable_end(0)
        await produce_garbage(kafka_bootstrap, topic, partition=0)
        async with InProcessCluster(tmp_path / "writer", depots=url) as writer:
            await writer.launch(Ledger(), tasks=4)
            placed += await writer.append_many("ledger", "*transfers", after, ack=Ack.APPENDED)
        partition_of = {record["id"]: result.partition for record, result in zip(before + after, placed, strict=True)}

        async with InProcessCluster(tmp_path / "replay", depots=url) as replay:
            runtime = await replay.launch(Ledger(), tasks=4)
            expected = f"{topic}/0 offset {garbage_at}: not a record of this depot"
            with pytest.raises(CorruptLogError, match=expected):
                await replay.controls.wait_idle(timeout_s=BOUND_S)
            runner = replay.runner("ledger", "balances")
            [stopped_at] = [a.next_offset for a in runner.assignments if a.partition == 0]
            assert stopped_at == garbage_at  # every record before it applied, it and nothing after it
            applied = {
                transfer_id
                for account in ACCOUNTS
                for transfer_id, _ in runtime.committed_view(runtime.task_of(account), "$$history").range(account)
            }
            assert {r["id"] for r in before if partition_of[r["id"]] == 0} <= applied
            assert {r["id"] for r in after if partition_of[r["id"]] == 0} & applied == set()

    asyncio.run(scenario())


async def produce_garbage(bootstrap: str, topic: str, partition: int) -> None:
    """Write bytes that are not a depot record straight to the topic, as a stray client would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"\xc1 not msgpack, not ours", partition=partition)
    finally:
        await producer.stop()
