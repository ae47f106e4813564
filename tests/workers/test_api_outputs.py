"""`WorkerClient.subscribe` across rebalances: two `Worker`s in this process, a module emitting on an output.

One worker runs every task; the client subscribes; a second worker joins and takes half the tasks (the
client's routing watcher opens a stream to it); it leaves cleanly and its tasks come back. After each
step an append to every task must reach the subscriber, and nothing may count as lost (`dropped` stays 0:
the leaving worker ends its stream in order, after closing its task hosts).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cluster.client import Ack, OutputEvent, Subscription
from cluster.workers.client import WorkerClient
from cluster.workers.membership import GroupSettings
from cluster.workers.subscriptions import WorkerSubscription
from cluster.workers.worker import Worker
from depots.declaration import hash_by
from pstates.keycodec import partition_of
from tests.workers.support import namespace_for, poll_until
from topology.context import StreamContext
from topology.module import Module, ModuleBuilder

TASKS = 4
KEYS = {partition_of(f"k{i}", TASKS): f"k{i}" for i in range(64)}  # one key per task
BOUND_S = 60.0


def note(ctx: StreamContext, record: dict[str, Any]) -> None:
    ctx.emit("notes", {"key": record["key"], "step": record["step"]})


class Echo(Module):
    """Emits every record of `*notes` on its output `notes`."""

    name = "echo"

    def define(self, m: ModuleBuilder) -> None:
        m.depot("*notes", hash_by(lambda record: record["key"]))
        m.output("notes")
        m.stream("notes").source("*notes", note)


def test_a_subscription_follows_workers_joining_and_leaving(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"
    served: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name: str) -> Worker:
        def on_event(event: dict[str, Any]) -> None:
            if event["event"] == "serving":
                served[name] = event["tasks"]

        group = GroupSettings(session_timeout_ms=6_000)
        return Worker(url, tmp_path / "data", [Echo()], TASKS, group=group, on_event=on_event)

    async def split(a: int, b: int) -> None:
        async def counts() -> tuple[int, int]:
            return len(served["a"]), len(served["b"])

        await poll_until(counts, lambda got: got == (a, b), BOUND_S, f"tasks split {a}/{b}")

    async def scenario() -> None:
        first, second = worker("a"), worker("b")
        running = [first]
        await first.start()
        try:
            await split(TASKS, 0)
            async with WorkerClient(url, [Echo()], TASKS, failover_timeout_s=BOUND_S) as client:
                subscription = await client.subscribe("echo", "notes")
                assert isinstance(subscription, WorkerSubscription)
                await every_task_arrives(client, subscription, step=1)

                running.append(second)
                await second.start()
                await split(TASKS // 2, TASKS // 2)
                await attached(subscription, {first.address, second.address})
                await every_task_arrives(client, subscription, step=2)

                await running.pop().stop()  # a clean leave
                served["b"] = []
                await split(TASKS, 0)
                await every_task_arrives(client, subscription, step=3)
                assert subscription.dropped == 0
                assert subscription.attached == {first.address}
        finally:
            for started in running:
                await started.stop()

    asyncio.run(scenario())


async def attached(subscription: WorkerSubscription, addresses: set[str]) -> None:
    async def now() -> set[str]:
        return set(subscription.attached)

    await poll_until(now, lambda got: got == addresses, BOUND_S, f"streams attached to {addresses}")


async def every_task_arrives(client: WorkerClient, subscription: Subscription, step: int) -> None:
    """Append one note to each task's partition; each must come out of the subscription."""
    for key in KEYS.values():
        await client.append("echo", "*notes", {"key": key, "step": step}, Ack.PROCESSED)
    got: list[OutputEvent] = [await asyncio.wait_for(subscription.next(), BOUND_S) for _ in KEYS]
    assert sorted((e.value["key"], e.value["step"]) for e in got) == sorted((k, step) for k in KEYS.values())
