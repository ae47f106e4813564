"""The group lease that fences a zombie worker: expiry, renewal from what the coordinator answered, and a log
that refuses appends and queued groups once the lease is gone."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cluster.workers.fencing import MARGIN, FencedError, Lease, renew_on_group_success
from depots.errors import LogFailedError
from depots.segment_log import SegmentLog


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_lease_holds_from_the_send_time_for_the_session_less_the_margin() -> None:
    clock = FakeClock()
    lease = Lease(3.0, clock)
    assert not lease.valid()  # nothing owned before the first sync
    lease.renew(sent_at=99.0)
    assert lease.valid_until == pytest.approx(99.0 + 3.0 * (1 - MARGIN))
    clock.now = 101.6
    lease.check()
    clock.now = 101.8
    with pytest.raises(FencedError, match="lease expired"):
        lease.check()
    lease.renew(sent_at=98.0)  # an older answer never shortens nor revives it
    assert not lease.valid() and lease.expired_count == 1


@dataclass
class Answer:
    error_code: int


class HeartbeatRequest:
    pass


class SyncGroupRequest:
    pass


class OffsetFetchRequest:
    pass


class FakeCoordinator:
    """Stands in for aiokafka's coordinator: answers each request with the next error code."""

    def __init__(self, clock: FakeClock, codes: list[int]) -> None:
        self.clock = clock
        self.codes = codes

    async def _send_req(self, request: Any) -> Answer:
        self.clock.now += 0.5  # the round trip: the lease counts from the send
        return Answer(self.codes.pop(0))


def test_only_answers_that_count_us_as_a_member_renew_the_lease() -> None:
    clock = FakeClock()
    lease = Lease(6.0, clock)
    coordinator = FakeCoordinator(clock, [25, 0, 0, 27, 0])  # 25: UNKNOWN_MEMBER_ID, 27: REBALANCE_IN_PROGRESS
    renew_on_group_success(coordinator, lease, clock)

    async def send(request: Any) -> None:
        await coordinator._send_req(request)

    asyncio.run(send(HeartbeatRequest()))  # a dropped member: no renewal
    assert not lease.valid()
    asyncio.run(send(OffsetFetchRequest()))  # says nothing about membership
    assert not lease.valid()
    asyncio.run(send(SyncGroupRequest()))  # sent at 101.0
    assert lease.valid_until == pytest.approx(101.0 + 6.0 * (1 - MARGIN))
    asyncio.run(send(HeartbeatRequest()))  # rebalancing, still a member: sent at 101.5
    assert lease.valid_until == pytest.approx(101.5 + 6.0 * (1 - MARGIN))


def test_a_fenced_log_refuses_appends_and_fails_a_group_queued_before_the_lease_expired(tmp_path: Path) -> None:
    async def refused_at_once() -> None:
        clock = FakeClock()
        log = SegmentLog.open(tmp_path / "refused", 1)
        log.fence = Lease(3.0, clock).check  # never renewed
        with pytest.raises(FencedError):  # nothing queued: the caller may retry on the new owner
            log.append(0, b"never", 0)
        assert log.end_offset(0) == 0
        await log.close()

    asyncio.run(refused_at_once())

    async def scenario() -> None:
        clock = FakeClock()
        lease = Lease(3.0, clock)
        lease.renew(clock.now)
        log = SegmentLog.open(tmp_path / "log", 1)
        log.fence = lease.check
        first = log.append(0, b"before", 0)
        await first.durable
        queued = log.append(0, b"queued", 0)  # taken by the flusher only after the "pause" below
        clock.now += 10.0
        with pytest.raises(LogFailedError, match="may or may not be in the log"):  # maybe appended, not "not owner"
            await queued.durable
        with pytest.raises(LogFailedError):  # the log stopped: its offsets after the group are void
            log.append(0, b"after", 0)
        assert [e.payload for e in await log.read(0, 0, 10)] == [b"before"]
        await log.close()

    asyncio.run(scenario())
