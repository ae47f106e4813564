"""The record codec: msgpack round trips, and refusals that happen before anything is written."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from depots.codec import decode_record, encode_record
from depots.errors import RecordTooLargeError, UnserializableRecordError
from tests.depots.support import open_log


def test_round_trips_msgpack_values() -> None:
    record = {"id": 2**63 - 1, "text": "héllo", "media": b"\x00\xff", 7: [1.5, None, True], "tags": ("a",)}
    assert decode_record(encode_record(record)) == {**record, "tags": ["a"]}


def test_unserializable_record_names_depot_and_type() -> None:
    with pytest.raises(UnserializableRecordError) as caught:
        encode_record({"tags": {"python"}}, depot="*statuses")
    assert str(caught.value) == ("record for depot *statuses is not serializable: set is not msgpack-encodable")
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize("value", [object(), 2**64, -(2**63) - 1, [[[frozenset()]]]])
def test_every_unencodable_value_is_refused(value: object) -> None:
    with pytest.raises(UnserializableRecordError, match="record for depot \\*d is not serializable"):
        encode_record({"value": value}, depot="*d")


def test_too_deep_nesting_is_refused() -> None:
    nested: list[object] = []
    for _ in range(2_000):
        nested = [nested]
    with pytest.raises(UnserializableRecordError, match="recursion limit"):
        encode_record(nested)


def test_oversized_record_reports_both_sizes() -> None:
    with pytest.raises(RecordTooLargeError) as caught:
        encode_record("x" * 200, max_bytes=100, depot="*statuses")
    assert str(caught.value) == ("record for depot *statuses is 202 bytes encoded, over the limit of 100 bytes")
    assert isinstance(caught.value, ValueError)


def test_record_at_the_limit_is_accepted() -> None:
    assert len(encode_record("x" * 98, max_bytes=100)) == 100


def test_a_refusal_leaves_the_encoder_clean() -> None:
    with pytest.raises(UnserializableRecordError):
        encode_record(["partial", "output", {1, 2}])
    assert encode_record([1]) == b"\x91\x01"


def test_refused_records_never_reach_the_log(tmp_path: Path) -> None:
    async def scenario() -> None:
        log = open_log(tmp_path / "depot")
        for bad in ({"tags": {"a"}}, "x" * 2_000):
            with pytest.raises((UnserializableRecordError, RecordTooLargeError)):
                log.append(0, encode_record(bad, max_bytes=1_000, depot="*d"), 1)
        await log.flush()
        assert (log.end_offset(0), log.durable_end(0)) == (0, 0)
        await log.close()

    asyncio.run(scenario())


def test_threads_encode_independently() -> None:
    records = [{"thread": thread, "items": list(range(thread * 10))} for thread in range(8)]
    results: dict[int, bytes] = {}

    def encode(thread: int) -> None:
        for _ in range(200):
            results[thread] = encode_record(records[thread])

    threads = [threading.Thread(target=encode, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [decode_record(results[thread]) for thread in range(8)] == records
