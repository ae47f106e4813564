"""The worker's RPC server on a thread of its own, with a pool of read threads.

Why not on the main loop: topology code runs on the main loop and reads other tasks synchronously; a read
of a task on another worker blocks the main loop until the answer comes. If the RPC server shared that
loop, two workers reading each other at the same moment would each wait for the other's blocked loop
(a distributed deadlock). Here the server's loop only parses requests: appends are handed to the main
loop (the depot logs, runners and acks live there), reads run on `read_threads` threads against committed
state. Measured in docs/kafka.md ("Cross-task reads").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

READ_THREADS = 16  # well above the nesting depth of the modules' reads (each nested hop holds one)
START_BOUND_S = 30.0


class FrontServer:
    """An aiohttp app served on 127.0.0.1 from a dedicated thread and event loop."""

    def __init__(self, make_app: Callable[[ThreadPoolExecutor], web.Application], port: int = 0) -> None:
        self._make_app = make_app
        self._port = port
        self.read_pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="tusk-read")
        self.address = ""
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="tusk-rpc", daemon=True)

    async def start(self) -> str:
        """Start serving; return the address (`127.0.0.1:PORT`)."""
        self._thread.start()
        if not await asyncio.to_thread(self._ready.wait, START_BOUND_S):
            raise TimeoutError(f"the RPC server did not start within {START_BOUND_S:g} s")
        if self._failure is not None:
            raise self._failure
        return self.address

    async def stop(self) -> None:
        """Stop serving, join the thread and the read pool."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)
        await asyncio.to_thread(self.read_pool.shutdown)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # a port in use: start() raises it
            self._failure = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        runner = web.AppRunner(self._make_app(self.read_pool), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", self._port).start()
            self.address = f"127.0.0.1:{runner.addresses[0][1]}"
            self._ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()
