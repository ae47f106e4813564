"""After a restart, home timelines are rebuilt on first read and equal what the live process showed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.testing import FakeClock
from modules.core.statuses import is_live
from tests.modules.core.support import CORE, delete, delivered, follow, home, launched, post, register

Snapshot = dict[int, list[int]]


def test_home_timelines_are_rebuilt_after_a_restart(tmp_path: Path, store_kind: str) -> None:
    clock = FakeClock()

    async def live() -> tuple[list[int], Snapshot, list[int]]:
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            accounts = [await register(cluster, f"user{i}") for i in range(8)]
            for i, follower in enumerate(accounts):
                for followee in accounts[i + 1 : i + 4]:
                    await follow(cluster, follower, followee)
            ids: list[int] = []
            public: list[int] = []
            for round_ in range(4):
                for i, author in enumerate(accounts):
                    clock.advance(1)
                    kind = (round_ + i) % 4
                    fields: dict[str, Any] = {}
                    if kind == 1:
                        fields = {"visibility": "private"}
                    elif kind == 2:
                        fields = {"visibility": "direct", "mentions": [accounts[(i + 7) % 8], accounts[(i + 1) % 8]]}
                    elif kind == 3 and public:
                        fields = {"in_reply_to": public[-1]}  # a reply needs a parent its author may see
                    ids.append(await post(cluster, author, f"r{round_}", **fields))
                    if "visibility" not in fields:
                        public.append(ids[-1])
                if round_ == 1:
                    await cluster.controls.wait_idle()
                    for account in accounts[:4]:
                        await home(cluster, account)  # first reads before the restart: rebuilt, then live
            await delete(cluster, accounts[5], ids[-3])
            await cluster.controls.wait_idle()
            assert any(delivered(cluster, a) for a in accounts)
            return accounts, {a: await home(cluster, a) for a in accounts}, ids

    async def reopened(accounts: list[int], ids: list[int]) -> Snapshot:
        # A new clock: a closed cluster's tick listener stays registered on the old one (an engine gap).
        async with launched(tmp_path, store_kind, clock=FakeClock(clock.now_ms())) as cluster:
            await cluster.controls.wait_idle()
            assert all(delivered(cluster, a) == [] for a in accounts)  # memory starts empty
            stored = await cluster.query(CORE, "statuses_here", ids)  # hydration would hide private ones
            assert sum(is_live(stored.get(i)) for i in ids) == len(ids) - 1  # every status but the deleted one
            return {a: await home(cluster, a) for a in accounts}

    accounts, before, ids = asyncio.run(live())
    assert sum(len(page) for page in before.values()) > 40
    assert asyncio.run(reopened(accounts, ids)) == before
