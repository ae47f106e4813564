"""Helpers of the worker tests: a namespace per test, bounded polling, an embedded replay of the depots."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from cluster.inprocess import InProcessCluster
from modules.examples.ledger import Ledger

T = TypeVar("T")
POLL_S = 0.05


def namespace_for(path: Path) -> str:
    """A Kafka namespace of this test's own (the broker lives for the whole session)."""
    return "w" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


async def poll_until(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout_s: float, what: str) -> T:
    """Call `probe` until `done(value)`, at most `timeout_s` (a bounded poll, not a synchronizing sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await probe()
        if done(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}; last value: {value!r}")
        await asyncio.sleep(POLL_S)


async def replay_ledger(data_dir: Path, depots_url: str, accounts: list[str]) -> tuple[dict[str, int], int, set[int]]:
    """Fold the ledger's depot again on an embedded cluster: balances, transfer count, transfer ids."""
    async with InProcessCluster(data_dir, depots=depots_url) as cluster:
        runtime = await cluster.launch(Ledger(), tasks=4)
        await cluster.controls.wait_idle()
        balances = {account: await cluster.query("ledger", "balance", account) for account in accounts}
        count = await cluster.query("ledger", "total_count")
        ids: set[int] = set()
        for account in accounts:
            view = runtime.committed_view(runtime.task_of(account), "$$history")
            ids |= {transfer_id for transfer_id, _ in view.range(account)}
        return balances, int(count), ids
