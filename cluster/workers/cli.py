"""`tusk worker`: run one worker process until SIGTERM or SIGINT; events go to stdout as JSON lines."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cluster.workers.checkpoints import EVERY_RECORDS, EVERY_S, CheckpointBucket
from cluster.workers.membership import GroupSettings
from cluster.workers.worker import Worker
from topology.module import Module


def worker_modules(names: list[str]) -> list[Module]:
    """The modules a worker hosts, by name: `mastodon` (as `tusk run`), `fanout` (relationships, core) or `ledger`."""
    from cluster.serve import mastodon_modules
    from modules.core import Core
    from modules.examples.ledger import Ledger
    from modules.relationships import Relationships

    known: dict[str, Callable[[], list[Module]]] = {
        "mastodon": mastodon_modules,
        "fanout": lambda: [Relationships(), Core()],
        "ledger": lambda: [Ledger()],
    }
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"tusk worker hosts {sorted(known)}; unknown: {unknown}")
    return [module for name in names for module in known[name]()]


def print_event(event: dict[str, Any]) -> None:
    """Write one event as a JSON line (tests and operators read them)."""
    print(json.dumps(event, sort_keys=True), flush=True)


async def run_worker(
    broker: str,
    data: Path,
    modules: list[str],
    tasks: int,
    port: int,
    session_timeout_ms: int,
    changelog: bool = False,
    checkpoints: str | None = None,
    standbys: int = 0,
    checkpoint_every: tuple[int, float] = (EVERY_RECORDS, EVERY_S),
) -> int:
    """Run a worker until a termination signal, then leave the group and close cleanly."""
    group = GroupSettings(session_timeout_ms=session_timeout_ms)
    bucket = CheckpointBucket.from_url(checkpoints, *checkpoint_every) if checkpoints else None
    worker = Worker(
        broker,
        data,
        worker_modules(modules),
        tasks,
        port=port,
        group=group,
        on_event=print_event,
        checkpoints=bucket,
        changelog=changelog,
        standbys=standbys,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    await stop.wait()
    await worker.stop()
    print_event({"event": "stopped"})
    return 0


def main(args: Any) -> int:
    """Entry point of the `worker` subcommand."""
    return asyncio.run(
        run_worker(
            args.broker,
            args.data,
            args.module,
            args.tasks,
            args.port,
            args.session_timeout_ms,
            getattr(args, "changelog", False),
            getattr(args, "checkpoints", None),
            getattr(args, "standbys", 0),
            (getattr(args, "checkpoint_records", EVERY_RECORDS), getattr(args, "checkpoint_seconds", EVERY_S)),
        )
    )
