"""Every Mastodon module on two `tusk worker` processes, driven through `WorkerClient`.

A slice of the module behaviours whose data crosses workers: an author on one worker, a follower on the
other. The follower's home timeline is loaded *before* the posts (so the posts can only reach it by
fanout: core's microbatch reads relationships' follower buckets on other tasks, then hops to the
follower's task over the hop topic); a follow and a favourite notify the author (notifications reads
core and relationships of other tasks); the favourite shows in the hydrated status' count (hydration
reads statuses, accounts and counts on their owning tasks). Every task's owner ticks its own partitions
of the tick depots. Prints the append (PROCESSED) latency and a cross-worker home timeline read latency.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cluster.depot_storage import KafkaStorage
from cluster.serve import mastodon_modules
from cluster.workers.client import WorkerClient
from depots.kafka_broker import BrokerSettings, high_watermark, new_client, start_within
from tests.workers.modules_support import (
    CORE,
    RELATIONSHIPS,
    WorkerProcess,
    home,
    hydrated,
    notifications_of,
    percentiles,
    register,
    start_worker,
    timed,
    wait_split,
)
from tests.workers.support import namespace_for, poll_until

TASKS = 4
POSTS = 30
READS = 200


def test_mastodon_modules_on_two_workers_fan_out_notify_and_count_across_them(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    namespace = namespace_for(tmp_path)
    url = f"kafka://{kafka_bootstrap}/{namespace}"

    async def scenario() -> None:
        data = tmp_path / "data"
        workers = [await start_worker(url, data, name, "mastodon", TASKS) for name in ("w1", "w2")]
        try:
            await wait_split(workers, TASKS)
            async with WorkerClient(url, mastodon_modules(), TASKS, failover_timeout_s=60) as client:
                await run(client, workers)
            await ticks_on_every_partition(kafka_bootstrap, namespace)
            for worker in workers:
                assert "PartitionOwnershipError" not in worker.stderr.read_text()
        except BaseException:
            for worker in workers:
                sys.stderr.write(f"--- {worker.stderr.name}\n{worker.stderr.read_text()[-6000:]}\n")
            raise
        finally:
            for worker in workers:
                await worker.stop()

    asyncio.run(scenario())


async def run(client: WorkerClient, workers: list[WorkerProcess]) -> None:
    core = client.runtime_of(CORE)

    def worker_of(account: int) -> int:
        return next(i for i, w in enumerate(workers) if core.task_of(account) in w.serving)

    by_worker: dict[int, list[int]] = {0: [], 1: []}
    for number in range(64):  # until each worker owns an account (a handful of registrations in practice)
        account = await register(client, f"user{number}")
        by_worker[worker_of(account)].append(account)
        if by_worker[0] and by_worker[1]:
            break
    author, follower = by_worker[0][0], by_worker[1][0]

    assert await home(client, follower) == []  # loaded now: later statuses arrive only by fanout
    await client.append(RELATIONSHIPS, "*follows", {"op": "follow", "follower": follower, "followee": author})

    async def in_follower_buckets() -> list[int]:
        buckets = await client.query(RELATIONSHIPS, "follower_buckets", author)
        pages = [await client.query(RELATIONSHIPS, "bucket_followers", tuple(b["key"])) for b in buckets]
        return [int(row[0]) for page in pages for row in page]

    # PROCESSED covers the follower's task only: the hops to the author's task (its follower buckets) and
    # from there to the bucket's task travel over hop topics and land a little later. Fanout reads them.
    await poll_until(in_follower_buckets, lambda found: follower in found, 30, "the follow in the author's buckets")
    appends: list[float] = []
    posted = []
    for number in range(POSTS):
        record = {"op": "create", "author": author, "uuid": f"post-{number}", "text": f"post {number}"}
        posted.append(int((await timed(appends, client.append(CORE, "*statuses", record))).value))
    first = posted[0]

    async def followers_home() -> list[int]:
        return await home(client, follower)

    timeline = await poll_until(followers_home, lambda ids: set(posted) <= set(ids), 30, "fanout across workers")
    assert timeline[:POSTS] == sorted(posted, reverse=True)

    await timed(appends, client.append(CORE, "*favourites", {"op": "favourite", "account": follower, "status": first}))

    async def authors_notifications() -> list[tuple[str, int, int | None]]:
        return await notifications_of(client, author)

    wanted = {("follow", follower, None), ("favourite", follower, first)}
    await poll_until(authors_notifications, lambda found: wanted <= set(found), 30, "the author's notifications")

    [card] = await hydrated(client, follower, [first])
    assert (card["id"], card["favourites_count"], card["account"]["id"]) == (first, 1, author)

    reads: list[float] = []
    for _ in range(READS):  # the follower's worker reads its timeline, then hydrates statuses of the other's
        page = await timed(reads, home_page(client, follower))
        assert [card["id"] for card in page] == sorted(posted, reverse=True)[:20]
    print(
        f"\nmastodon on 2 workers: append PROCESSED via WorkerClient {percentiles(appends)}; "
        f"home timeline read (20 ids + hydration across workers) {percentiles(reads)}"
    )


async def home_page(client: WorkerClient, account: int) -> list[dict[str, object]]:
    """What `GET /api/v1/timelines/home?limit=20` reads: the ids, then the statuses hydrated for the viewer."""
    ids: list[int] = await client.query(CORE, "home_timeline", account, None, 20)
    return await hydrated(client, account, ids)


async def ticks_on_every_partition(bootstrap: str, namespace: str) -> None:
    """Each task's owner appended ticks to its partition of core's tick depots (none left unticked)."""
    storage = KafkaStorage(bootstrap, namespace)
    settings = BrokerSettings(bootstrap)
    kafka = new_client(settings)
    await start_within(settings, kafka, "tick check")
    try:
        for depot in ("*fanout_tick", "*content_tick"):
            topic = storage.topic_for(CORE, depot)
            ends = [await high_watermark(kafka, topic, partition) for partition in range(TASKS)]
            assert all(end > 0 for end in ends), f"{depot}: {ends}"
    finally:
        await kafka.close()
