"""Limited accounts: moderators limit and unlimit; repeats change nothing; bad records are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.moderation.limits import limited_at
from tests.modules.moderation.test_reports import MODERATION, START_MS, launched
from topology.context import RecordRejected

MODERATOR = 7


async def act(cluster: InProcessCluster, op: str, account: Any, moderator: Any = MODERATOR) -> Any:
    """Append an `*account_actions` record and return the account's limit after it."""
    record = {"op": op, "account": account, "moderator": moderator}
    return (await cluster.append(MODERATION, "*account_actions", record)).value


def test_limit_keeps_its_first_time_and_unlimit_lifts_it(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock(START_MS)

    async def scenario() -> None:
        async with launched(tmp_path, store_kind, clock) as cluster:
            assert await cluster.query(MODERATION, "limit", 2) is None
            first = await act(cluster, "limit", 2)
            assert first == {"since": START_MS, "by": MODERATOR}
            clock.advance(1_000)
            assert await act(cluster, "limit", 2, moderator=8) == first  # a repeat (or a retry) changes nothing
            await cluster.controls.wait_idle()
            assert await cluster.query(MODERATION, "limit", 2) == first
            assert await cluster.query(MODERATION, "limit", 3) is None
            assert await act(cluster, "unlimit", 2) is None
            assert await act(cluster, "unlimit", 2) is None  # lifting what is not there is a no-op
            await cluster.controls.wait_idle()
            assert await cluster.query(MODERATION, "limit", 2) is None
            clock.advance(1_000)
            assert (await act(cluster, "limit", 2))["since"] == START_MS + 2_000  # limited anew, from now

    asyncio.run(scenario())


def test_a_limit_applies_to_activities_from_its_time_on() -> None:
    found = {"since": START_MS, "by": MODERATOR}
    assert limited_at(found, START_MS) and limited_at(found, START_MS + 1)
    assert not limited_at(found, START_MS - 1) and not limited_at(None, START_MS)


BAD = [
    ({"op": "suspend"}, "unknown op"),
    ({"account": 0}, "account must be"),
    ({"account": "2"}, "account must be"),
    ({"moderator": None}, "moderator must be"),
]


def test_bad_account_actions_are_rejected_before_anything_is_written(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind, FakeClock(START_MS)) as cluster:
            for change, message in BAD:
                record = {"op": "limit", "account": 2, "moderator": MODERATOR, **change}
                with pytest.raises(RecordRejected, match=message):
                    await cluster.append(MODERATION, "*account_actions", record)
            await cluster.controls.wait_idle()
            assert await cluster.query(MODERATION, "limit", 2) is None

    asyncio.run(scenario())
