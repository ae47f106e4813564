"""Deterministic test controls shipped with the engine: a fake clock, pause / resume, wait for progress.

Tests never sleep: they pause a topology, append, resume, and `await controls.wait_processed(...)` or
`await controls.wait_idle()`; time moves only when the test calls `FakeClock.advance`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from pstates.errors import TuskError

if TYPE_CHECKING:
    from cluster.inprocess import InProcessCluster

DEFAULT_WAIT_S = 60.0

# Called after a microbatch task commit: (module, topology, task, ordinal of the commit in the batch).
CommitHook = Callable[[str, str, int, int], None]


class WaitTimeoutError(TuskError, TimeoutError):
    """A test wait did not see the progress it expected in time."""


class FakeClock:
    """A clock that moves only when told to; `advance` also fires the cluster's due tick depots."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._listeners: list[Callable[[int], None]] = []
        self._sleepers: list[tuple[int, asyncio.Future[None]]] = []

    def now_ms(self) -> int:
        """The fake current time."""
        return self._now

    def advance(self, ms: int) -> None:
        """Move time forward by `ms`, fire due ticks and wake sleepers whose time has come."""
        if ms < 0:
            raise ValueError("a clock does not go backwards")
        self._now += ms
        for listener in self._listeners:
            listener(self._now)
        due = [s for s in self._sleepers if s[0] <= self._now]
        self._sleepers = [s for s in self._sleepers if s[0] > self._now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    def on_advance(self, listener: Callable[[int], None]) -> None:
        """Call `listener(now_ms)` on every advance."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[int], None]) -> None:
        """Stop calling `listener` (a closed cluster must not tick on a clock shared with its successor)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def sleep_ms(self, ms: int) -> None:
        """Return once the fake time has advanced by `ms`."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + ms, future))
        await future


class TestControls:
    """Pause, resume, wait and fault hooks over an `InProcessCluster`'s topologies."""

    __test__ = False  # not a pytest test class

    def __init__(self, cluster: InProcessCluster) -> None:
        self._cluster = cluster
        self._paused: dict[tuple[str, str], asyncio.Event] = {}
        self._changed = asyncio.Event()
        self.on_task_committed: CommitHook | None = None

    # -- pause / resume --------------------------------------------------------------------------------

    def pause(self, module: str, topology: str) -> None:
        """Stop `module`'s `topology` before its next pass (records keep accumulating)."""
        self._cluster.runner(module, topology)  # validates the names
        self._paused.setdefault((module, topology), asyncio.Event())

    def resume(self, module: str, topology: str) -> None:
        """Let a paused topology run again."""
        event = self._paused.pop((module, topology), None)
        if event is not None:
            event.set()
        self._cluster.runner(module, topology).wake.set()

    def is_paused(self, module: str, topology: str) -> bool:
        """Whether `topology` is paused."""
        return (module, topology) in self._paused

    async def wait_unpaused(self, module: str, topology: str) -> None:
        """Return when `topology` is not paused."""
        event = self._paused.get((module, topology))
        if event is not None:
            await event.wait()

    # -- waits -----------------------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake every waiter to re-check its condition (a topology made progress)."""
        self._changed.set()

    async def wait_processed(self, module: str, topology: str, count: int, timeout_s: float = DEFAULT_WAIT_S) -> None:
        """Wait until `topology` has processed at least `count` records since launch."""
        runner = self._cluster.runner(module, topology)
        await self._wait_for(
            lambda: runner.processed >= count,
            f"{module}/{topology} to process {count} records (got {{}})",
            lambda: runner.processed,
            timeout_s,
        )

    async def wait_idle(self, timeout_s: float = DEFAULT_WAIT_S) -> None:
        """Wait until every appended record is durable and every unpaused topology has processed it."""
        cluster = self._cluster

        def idle() -> bool:
            return all(
                runner.backlog() == 0
                for (module, name), runner in cluster.runners.items()
                if (module, name) not in self._paused
            )

        async def settled() -> bool:
            await cluster.flush_logs()
            return idle()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if await settled() and cluster.quiescent():
                await cluster.flush_logs()
                if idle():
                    return
            cluster.raise_failures()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeoutError(f"cluster not idle after {timeout_s}s: {cluster.describe_backlog()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):  # re-check at least every 50 ms
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    async def _wait_for(
        self, condition: Callable[[], bool], what: str, progress: Callable[[], object], timeout_s: float
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not condition():
            self._cluster.raise_failures()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeoutError("timed out waiting for " + what.format(progress()))
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    # -- fault hooks -----------------------------------------------------------------------------------

    def task_committed(self, module: str, topology: str, task: int, ordinal: int) -> None:
        """Called by microbatch runners after each task commit; runs `on_task_committed` if set."""
        if self.on_task_committed is not None:
            self.on_task_committed(module, topology, task, ordinal)
