"""`Ack.PROCESSED` on workers waits for the round's hops: read-your-writes across tasks and workers.

Two `tusk worker --module fanout` processes. Every write here stores its result on another task through a
hop (an account on its id's task, a status on its id's task, a follow on the followee's task and its
follower bucket), and each is read back *right after* its `PROCESSED` append, with no polling: without the
settlement of hops (cluster.workers.hop_acks) these reads race the hop topic's 50 ms polling and miss.
Hops between two tasks of one worker and between workers both occur (tasks are split 2/2).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cluster.workers.cli import worker_modules
from cluster.workers.client import WorkerClient
from tests.workers.modules_support import CORE, RELATIONSHIPS, register, start_worker, wait_split
from tests.workers.support import namespace_for

TASKS = 4
ACCOUNTS = 12


def test_processed_appends_are_visible_on_the_tasks_their_hops_reach(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def scenario() -> None:
        data = tmp_path / "data"
        workers = [await start_worker(url, data, name, "fanout", TASKS) for name in ("w1", "w2")]
        try:
            await wait_split(workers, TASKS)
            async with WorkerClient(url, worker_modules(["fanout"]), TASKS, failover_timeout_s=60) as client:
                await read_your_writes(client)
        except BaseException:
            for worker in workers:
                sys.stderr.write(f"--- {worker.stderr.name}\n{worker.stderr.read_text()[-6000:]}\n")
            raise
        finally:
            for worker in workers:
                await worker.stop()

    asyncio.run(scenario())


async def read_your_writes(client: WorkerClient) -> None:
    core, relationships = client.runtime_of(CORE), client.runtime_of(RELATIONSHIPS)
    ids, hopped = [], 0
    for index in range(ACCOUNTS):
        account = await register(client, f"reader{index}")
        found = await client.query(CORE, "account", account)  # stored by a hop to the id's task
        assert found is not None and found["username"] == f"reader{index}"
        ids.append(account)
    for author in ids:
        record = {"op": "create", "author": author, "uuid": f"status-{author}", "text": "read me back"}
        status_id = int((await client.append(CORE, "*statuses", record)).value)
        found = await client.query(CORE, "status", status_id)  # stored by a hop to the id's task
        assert found is not None and found["text"] == "read me back"
        hopped += core.task_of(status_id) != core.task_of(author)
    followee = ids[0]
    for count, follower in enumerate(ids[1:], start=1):
        await client.append(RELATIONSHIPS, "*follows", {"op": "follow", "follower": follower, "followee": followee})
        stored = await client.query(RELATIONSHIPS, "counts", followee)  # the followee's task, by a hop
        assert stored["followers_count"] == count
        hopped += relationships.task_of(follower) != relationships.task_of(followee)
    assert hopped >= 4  # enough of these crossed tasks for the check to mean something
