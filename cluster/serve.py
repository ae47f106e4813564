"""`tusk run`: the embedded cluster with every module this build has, until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import uvloop

from cluster.inprocess import InProcessCluster
from modules.examples.ledger import Ledger

log = logging.getLogger(__name__)


async def _serve(data_dir: Path, host: str, port: int) -> None:
    cluster = InProcessCluster(data_dir)
    await cluster.launch(Ledger(), tasks=4)
    for name, runtime in cluster.runtimes.items():
        log.info("module %s: %d tasks, depots %s", name, runtime.tasks, ", ".join(runtime.logs))
    # The Mastodon modules and their HTTP API are built on this engine next; until they land, `tusk run`
    # serves the engine alone and says so rather than pretending to be a Mastodon server.
    log.info(
        "engine running on %s (the Mastodon API on http://%s:%d is not built yet); Ctrl-C stops",
        data_dir.resolve(),
        host,
        port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await cluster.close()


def serve(data_dir: Path, host: str, port: int) -> int:
    """Run the embedded cluster until SIGINT or SIGTERM."""
    uvloop.run(_serve(data_dir, host, port))
    return 0
