"""The hop doorbell (`cluster.workers.doorbell`): a target on another worker polls as soon as a hop for it is
durable, not at its next scheduled poll."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cluster.client import Ack
from cluster.depot_storage import KafkaStorage
from cluster.workers import task_host
from cluster.workers.assignor import RoutingTable
from cluster.workers.doorbell import HopDoorbell, add_doorbell_routes
from cluster.workers.local_hops import LocalHops
from cluster.workers.task_host import TaskHost
from tests.workers.support import namespace_for, poll_until
from tests.workers.test_task_host import SOURCE_KEY, TARGET_KEY, Hopper

TASKS = 2


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"{host}:{port}"


def test_a_target_on_another_worker_polls_when_rung(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After its first round the target's poller would sleep for the rest of the test: only a ring wakes it.
    monkeypatch.setattr(task_host, "HOP_POLL_S", 3600.0)

    async def scenario() -> None:
        namespace = namespace_for(tmp_path)
        # Two storages: two broker sessions and two hop registries, as in two worker processes.
        source_storage, target_storage = (
            KafkaStorage(kafka_bootstrap, namespace),
            KafkaStorage(kafka_bootstrap, namespace),
        )
        target = TaskHost(tmp_path / "target", 1, target_storage)
        await target.launch(Hopper(), tasks=TASKS)
        app = add_doorbell_routes(web.Application(), {1: target}.get, asyncio.get_running_loop())
        server, address = await _serve(app)
        doorbell = HopDoorbell(lambda: RoutingTable(1, {0: "source:1", 1: address}), lambda: "source:1")
        LocalHops.of(source_storage).remote = doorbell.ring
        source = TaskHost(tmp_path / "source", 0, source_storage)
        await source.launch(Hopper(), tasks=TASKS)
        await target.controls.wait_idle()  # the target's first poll round is behind it
        for index in range(5):
            await source.append_to("hopper", "*events", 0, {"key": SOURCE_KEY, "n": index}, Ack.APPENDED)

        async def received() -> Any:
            return target.read_pstate("hopper", "$$received", "get", (TARGET_KEY, 0), {})

        assert await poll_until(received, lambda n: n == 5, 20, "the rung target to apply the 5 hops") == 5
        await doorbell.close()
        await server.cleanup()
        for host, storage in ((source, source_storage), (target, target_storage)):
            await host.close()
            await storage.close()

    asyncio.run(scenario())
