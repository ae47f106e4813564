"""Depot storage chosen by URL: segment logs in the data directory, or topics of a Kafka broker."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from cluster.depot_storage import KafkaStorage, SegmentStorage, open_depot_storage, topic_part
from depots.errors import LogLayoutError
from depots.kafka_log import KafkaDepotLog
from depots.log import FsyncPolicy
from depots.segment_log import SegmentLog
from modules.examples.ledger import Ledger
from tests.runtimes import Runtime, new_cluster

KAFKA_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def transfer(i: int) -> dict[str, object]:
    return {"id": i, "account": f"acct{i % 3}", "amount": i}


def test_urls_choose_the_storage(tmp_path: Path) -> None:
    default = open_depot_storage("segment://", tmp_path, FsyncPolicy.NEVER)
    assert isinstance(default, SegmentStorage) and default.data_dir == tmp_path
    assert default.fsync is FsyncPolicy.NEVER
    elsewhere = open_depot_storage(f"segment://{tmp_path / 'other'}", tmp_path, FsyncPolicy.ALWAYS)
    assert isinstance(elsewhere, SegmentStorage) and elsewhere.data_dir == tmp_path / "other"
    kafka = open_depot_storage("kafka://127.0.0.1:1,127.0.0.1:2/staging", tmp_path, FsyncPolicy.ALWAYS)
    assert isinstance(kafka, KafkaStorage)
    assert kafka.settings.bootstrap == "127.0.0.1:1,127.0.0.1:2" and kafka.namespace == "staging"
    unnamed = open_depot_storage("kafka://127.0.0.1:1", tmp_path, FsyncPolicy.ALWAYS)
    assert isinstance(unnamed, KafkaStorage) and unnamed.namespace == "tusk"
    for bad in ("rocksdb:///x", "segment://relative", "kafka:///no-broker", ""):
        with pytest.raises(ValueError):
            open_depot_storage(bad, tmp_path, FsyncPolicy.ALWAYS)


def test_topic_names_are_stable_legal_and_distinct() -> None:
    storage = KafkaStorage("127.0.0.1:1", "ns")
    assert storage.topic_for("core", "*statuses") == "ns.core.statuses"
    odd = [
        storage.topic_for(module, depot) for module, depot in [("a.b", "*c"), ("a", "*b.c"), ("a", "*b!"), ("a", "*b?")]
    ]
    assert len(set(odd)) == len(odd)
    assert all(KAFKA_TOPIC.fullmatch(topic) and topic.count(".") == 2 for topic in odd)
    assert topic_part("*é") != topic_part("*è") and topic_part("*é").isascii()
    with pytest.raises(ValueError, match="249"):
        storage.topic_for("m" * 200, "*d" * 30)


def test_depots_live_where_the_runtime_says(tmp_path: Path, runtime: Runtime) -> None:
    async def scenario() -> None:
        async with new_cluster(tmp_path) as cluster:
            module = await cluster.launch(Ledger(), tasks=2)
            _, log = module.depot("*transfers")
            await cluster.append("ledger", "*transfers", transfer(1))
            if runtime.bootstrap is None:
                assert isinstance(log, SegmentLog)
                assert (tmp_path / "ledger" / "depots" / "transfers").is_dir()
            else:
                assert isinstance(log, KafkaDepotLog)
                assert log.topic.endswith(".ledger.transfers") and KAFKA_TOPIC.fullmatch(log.topic)
                assert not (tmp_path / "ledger" / "depots").exists()

    asyncio.run(scenario())


def test_resuming_past_a_depots_end_is_refused(tmp_path: Path, runtime: Runtime) -> None:
    """Committed offsets beyond the depot's end mean lost or foreign depots: resuming would skip appends."""
    data, foreign = tmp_path / "data", tmp_path / "foreign"

    async def scenario() -> None:
        async with new_cluster(data) as cluster:
            await cluster.launch(Ledger(), tasks=2)
            await cluster.append_many("ledger", "*transfers", [transfer(i) for i in range(1, 11)])
            await cluster.controls.wait_idle()
        async with new_cluster(data, depots_of=foreign) as cluster:
            with pytest.raises(LogLayoutError, match=r"committed offset \d+ of ledger/\*transfers .* ends at 0"):
                await cluster.launch(Ledger(), tasks=2)
        async with new_cluster(data) as cluster:  # its own depots again: resumes where it stopped
            await cluster.launch(Ledger(), tasks=2)
            await cluster.append("ledger", "*transfers", transfer(11))
            await cluster.controls.wait_idle()
            assert await cluster.query("ledger", "total_count") == 11

    asyncio.run(scenario())
