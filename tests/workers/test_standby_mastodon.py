"""Every Mastodon module on two `tusk worker --module mastodon --standbys 1` processes with their own data
directories: the worker owning an author is SIGKILLed, and the survivor promotes its warm copies of the lost
tasks and serves the author's Mastodon state from them (account, statuses and their counts, notifications),
then goes on fanning out the author's new posts.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from cluster.serve import mastodon_modules
from cluster.workers.client import WorkerClient
from tests.workers.failover_support import with_workers
from tests.workers.modules_support import (
    CORE,
    RELATIONSHIPS,
    WorkerProcess,
    home,
    hydrated,
    notifications_of,
    register,
)
from tests.workers.processes import launch_worker
from tests.workers.support import namespace_for, poll_until
from tests.workers.test_standby_failover import warm_standbys

TASKS = 4
POSTS = 10


def test_a_promoted_standby_serves_the_mastodon_modules_state(kafka_bootstrap: str, tmp_path: Path) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def start(name: str) -> WorkerProcess:
        data = tmp_path / name
        data.mkdir()
        return await launch_worker(url, data, name, "--module", "mastodon", "--standbys", "1")

    async def scenario() -> None:
        workers = [await start(name) for name in ("machine-1", "machine-2")]
        await with_workers(workers, lambda: run(workers))

    async def run(workers: list[WorkerProcess]) -> None:
        async def state() -> list[tuple[set[int], set[int]]]:
            return [(w.serving, warm_standbys(w)) for w in workers]

        def split_and_warm(seen: list[tuple[set[int], set[int]]]) -> bool:
            (served_1, warm_1), (served_2, warm_2) = seen
            split = served_1 and served_2 and served_1 | served_2 == set(range(TASKS)) and not served_1 & served_2
            return bool(split) and warm_1 == served_2 and warm_2 == served_1

        await poll_until(state, split_and_warm, 120, "two tasks each, each kept warm by the other worker")
        async with WorkerClient(url, mastodon_modules(), TASKS, failover_timeout_s=90) as client:
            core = client.runtime_of(CORE)

            def worker_of(account: int) -> int:
                return next(i for i, w in enumerate(workers) if core.task_of(account) in w.serving)

            by_worker: dict[int, list[int]] = {0: [], 1: []}
            for number in range(64):  # until each worker owns an account
                account = await register(client, f"user{number}")
                by_worker[worker_of(account)].append(account)
                if by_worker[0] and by_worker[1]:
                    break
            author, follower = by_worker[0][0], by_worker[1][0]
            victim, survivor = workers
            await client.append(RELATIONSHIPS, "*follows", {"op": "follow", "follower": follower, "followee": author})
            posted = []
            for number in range(POSTS):
                record = {"op": "create", "author": author, "uuid": f"post-{number}", "text": f"post {number}"}
                posted.append(int((await client.append(CORE, "*statuses", record)).value))
            favourite = {"op": "favourite", "account": follower, "status": posted[0]}
            await client.append(CORE, "*favourites", favourite)
            wanted = {("follow", follower, None), ("favourite", follower, posted[0])}

            async def authors_notifications() -> set[tuple[str, int, int | None]]:
                return set(await notifications_of(client, author))

            await poll_until(authors_notifications, lambda found: wanted <= found, 30, "the author's notifications")
            lost, seen = victim.serving, len(survivor.events)
            os.kill(victim.process.pid, signal.SIGKILL)
            await victim.process.wait()

            async def survivor_tasks() -> set[int]:
                return survivor.serving

            await poll_until(survivor_tasks, lambda s: s == set(range(TASKS)), 90, "the survivor to own every task")
            # The author's task came from a warm copy: its account, statuses, counts and notifications are there.
            assert wanted <= await authors_notifications()
            cards = await hydrated(client, follower, posted)
            assert [c["id"] for c in cards] == posted
            assert {c["account"]["id"] for c in cards} == {author}
            assert cards[0]["favourites_count"] == 1
            later = {"op": "create", "author": author, "uuid": "post-after", "text": "after the failover"}
            after = int((await client.append(CORE, "*statuses", later)).value)

            async def followers_home() -> list[int]:
                return await home(client, follower)

            await poll_until(followers_home, lambda ids: {after, *posted} <= set(ids), 30, "fanout after promotion")

        since_kill = survivor.events[seen:]
        promoted = [e for e in since_kill if e["event"] == "standby_stopped" and e["reason"] == "promoted"]
        assert {e["task"] for e in promoted} == lost and all(e["state"] == "warm" for e in promoted)
        restores = [e for e in since_kill if e["event"] == "restored" and e["task"] in lost]
        # Every module's store is its warm copy, but for a store its module never wrote on that task (an empty
        # changelog: "restored" from nothing, 0 records); nothing was restored cold.
        assert {e["source"] for e in restores} <= {"local", "changelog"}
        assert all(e["records"] == 0 for e in restores if e["source"] != "local"), restores
        assert sum(e["source"] == "local" for e in restores) >= 3 * len(lost)  # core, relationships, notifications
        assert len(restores) == len(lost) * len(mastodon_modules())
        print(
            f"\nmastodon standbys promoted: {len(restores)} stores, "
            f"{sum(e['records'] for e in restores)} records replayed, "
            f"max {max(e['seconds'] for e in restores) * 1e3:.0f} ms per store"
        )

    asyncio.run(scenario())
