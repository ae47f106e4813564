"""What a task host shares between its main loop and the read threads of the worker's RPC server.

PState reads need nothing: they read committed RocksDB state, which is thread-safe. Two things do:

* Task globals (home timelines) are plain Python objects that the main loop changes after each commit and
  that queries read, and even change (a timeline rebuilt on first read), from read threads. `LockedGlobal`
  holds the task's lock for every method call. A call that reads other tasks under the lock (a rebuild)
  only ever waits on other workers' read pools, never on a main loop or on this lock, so it cannot
  deadlock; the main loop may wait for it, for the length of those reads.
* Closing a task host must not close its stores under a running read: `ReadGate` counts reads in flight
  and refuses new ones once closing begins (they answer "not the owner", and the reader retries elsewhere).

And what must not wait for the main loop at all gets an event loop of its own on a thread: `LoopThread`
(the group membership, whose heartbeats must go on while topology code blocks the main loop on a read).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

DRAIN_POLL_S = 0.01

T = TypeVar("T")


class LockedGlobal:
    """A task global whose method calls hold `lock` (attributes that are not methods are read as they are)."""

    __slots__ = ("_lock", "_target")

    def __init__(self, target: object, lock: threading.RLock) -> None:
        self._target = target
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value
        return _locked(value, self._lock)


def _locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return call


class ReadGate:
    """Reads in flight on a task host, and whether it still takes new ones."""

    def __init__(self, refuse: Callable[[], Exception]) -> None:
        self._refuse = refuse
        self._lock = threading.Lock()
        self._readers = 0
        self._closing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the host open for one read, or raise the refusal once it is closing."""
        with self._lock:
            if self._closing:
                raise self._refuse()
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1

    async def close(self, timeout_s: float) -> None:
        """Refuse new reads, then wait (bounded) for those in flight to finish."""
        with self._lock:
            self._closing = True
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._readers and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(DRAIN_POLL_S)


class LoopThread:
    """An asyncio event loop running on a daemon thread of its own; other loops hand it coroutines with `run`."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on this thread's loop; await its result from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def stop(self) -> None:
        """Stop the loop (cancelling what still runs on it) and join the thread."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            leftovers = asyncio.all_tasks(self._loop)
            for task in leftovers:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()
