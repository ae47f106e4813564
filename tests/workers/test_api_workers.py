"""`tusk api` over two `tusk worker --module mastodon` processes, all real subprocesses, driven over REST and WebSocket.

The author and the follower are registered until they live on different workers, so the follow, the
fanout to the follower's home timeline, the favourite and its notification all cross workers, and the
streaming events reach the API server through the output streams of both workers. Prints the REST post
and home-read latencies and how long a post takes to reach the follower's WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import ClientWebSocketResponse, WSMsgType

from cluster.serve import mastodon_modules
from cluster.workers.client import WorkerClient
from tests.workers.api_support import ApiProcess, Json, Rest, start_api
from tests.workers.modules_support import WorkerProcess, percentiles, start_worker, timed, wait_split
from tests.workers.support import namespace_for, poll_until

TASKS = 4
SAMPLES = 100
WAIT_S = 30.0


def test_tusk_api_on_two_workers_follow_post_home_favourite_notify_and_stream(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    url = f"kafka://{kafka_bootstrap}/{namespace_for(tmp_path)}"

    async def scenario() -> None:
        workers = [await start_worker(url, tmp_path / "data", name, "mastodon", TASKS) for name in ("w1", "w2")]
        api: ApiProcess | None = None
        try:
            await wait_split(workers, TASKS)
            api = await start_api(url, tmp_path, TASKS)
            async with aiohttp.ClientSession() as session:
                await run(Rest(session, api.base_url), url, workers)
        except BaseException:
            for log in [w.stderr for w in workers] + ([api.stderr] if api else []):
                sys.stderr.write(f"--- {log.name}\n{log.read_text()[-6000:]}\n")
            raise
        finally:
            if api is not None:
                await api.stop()
            for worker in workers:
                await worker.stop()
        for worker in workers:
            assert "PartitionOwnershipError" not in worker.stderr.read_text()

    asyncio.run(scenario())


async def run(rest: Rest, url: str, workers: list[WorkerProcess]) -> None:
    app, app_token = await rest.app_token()
    author, follower = await accounts_on_two_workers(rest, url, app_token, workers)
    follower["token"] = await rest.login(app, follower["username"])  # the password grant works through tusk api
    alice, bob = author["token"], follower["token"]
    async with (
        rest.session.ws_connect(f"{rest.base_url}/api/v1/streaming?stream=user&access_token={alice}") as alice_ws,
        rest.session.ws_connect(f"{rest.base_url}/api/v1/streaming?stream=user&access_token={bob}") as bob_ws,
    ):
        await rest.call("POST", f"/api/v1/accounts/{author['id']}/follow", bob)  # its answer may predate the hop

        async def following() -> bool:
            found = await rest.call("GET", f"/api/v1/accounts/relationships?id[]={author['id']}", bob)
            return bool(found[0]["following"])

        await poll_until(following, bool, WAIT_S, "the follow to show in the relationship")
        followed = await next_event(alice_ws, "notification", lambda p: p["type"] == "follow")
        assert followed["account"]["id"] == follower["id"]

        status = await rest.call("POST", "/api/v1/statuses", alice, data={"status": "hello across workers"})
        update = await next_event(bob_ws, "update", lambda p: p["id"] == status["id"])
        assert update["content"] == "<p>hello across workers</p>"
        assert update["account"]["id"] == author["id"]

        async def home() -> list[str]:
            return [s["id"] for s in await rest.call("GET", "/api/v1/timelines/home", bob)]

        await poll_until(home, lambda ids: status["id"] in ids, WAIT_S, "the post in the follower's home timeline")

        favourited = await rest.call("POST", f"/api/v1/statuses/{status['id']}/favourite", bob)
        assert favourited["favourited"] is True
        notification = await next_event(alice_ws, "notification", lambda p: p["type"] == "favourite")
        assert (notification["account"]["id"], notification["status"]["id"]) == (follower["id"], status["id"])

        async def notified() -> list[tuple[str, str]]:
            found = await rest.call("GET", "/api/v1/notifications", alice)
            return [(n["type"], n["account"]["id"]) for n in found]

        expected = {("favourite", follower["id"]), ("follow", follower["id"])}
        await poll_until(notified, lambda seen: expected <= set(seen), WAIT_S, "the author's notifications")

        async def count() -> int:
            return int((await rest.call("GET", f"/api/v1/statuses/{status['id']}", alice))["favourites_count"])

        await poll_until(count, lambda n: n == 1, WAIT_S, "the favourite count")
        await measure(rest, alice, bob, bob_ws)


async def accounts_on_two_workers(
    rest: Rest, url: str, app_token: str, workers: list[WorkerProcess]
) -> tuple[Json, Json]:
    """Sign up users until one lives on each worker (by core's partitioner); return (author, follower)."""
    core = WorkerClient(url, mastodon_modules(), TASKS).runtime_of("core")  # partitioners only: nothing connects
    by_worker: dict[int, Json] = {}
    for number in range(32):
        username = f"user{number}"
        token = await rest.signup(app_token, username)
        account = await rest.eventually("GET", "/api/v1/accounts/verify_credentials", token)
        worker = next(i for i, w in enumerate(workers) if core.task_of(int(account["id"])) in w.serving)
        by_worker.setdefault(worker, {"id": account["id"], "username": username, "token": token})
        if len(by_worker) == 2:
            return by_worker[0], by_worker[1]
    raise AssertionError(f"32 accounts all landed on one worker: {by_worker}")


async def next_event(ws: ClientWebSocketResponse, event: str, wanted: Callable[[Json], bool]) -> Json:
    """The payload of the next `event` frame on `ws` that `wanted` accepts (others are skipped; bounded wait)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        message = await asyncio.wait_for(ws.receive(), max(0.1, deadline - time.monotonic()))
        assert message.type is WSMsgType.TEXT, message
        frame = json.loads(message.data)
        if frame["event"] == event:
            payload: Json = json.loads(frame["payload"])
            if wanted(payload):
                return payload


async def measure(rest: Rest, alice: str, bob: str, bob_ws: ClientWebSocketResponse) -> None:
    """Time SAMPLES posts, their arrival on the follower's WebSocket, and SAMPLES home reads."""
    posted_at: dict[str, float] = {}
    arrived_at: dict[str, float] = {}

    async def receive() -> None:
        while len(arrived_at) < SAMPLES:
            message = await bob_ws.receive()
            assert message.type is WSMsgType.TEXT, message
            frame = json.loads(message.data)
            if frame["event"] == "update":
                arrived_at[json.loads(frame["payload"])["id"]] = time.perf_counter()

    receiver = asyncio.get_running_loop().create_task(receive())
    post_samples: list[float] = []
    stream_samples: list[float] = []
    for number in range(SAMPLES):
        started = time.perf_counter()
        status = await timed(post_samples, rest.call("POST", "/api/v1/statuses", alice, data={"status": f"#{number}"}))
        posted_at[status["id"]] = started
    try:
        await asyncio.wait_for(receiver, WAIT_S)
    except TimeoutError:
        raise AssertionError(f"{len(arrived_at)} of {SAMPLES} posts reached the follower's stream") from None
    assert set(arrived_at) == set(posted_at), "every post reached the follower's stream"
    stream_samples = [arrived_at[id_] - posted_at[id_] for id_ in posted_at]

    read_samples: list[float] = []
    for _ in range(SAMPLES):
        page: list[Any] = await timed(read_samples, rest.call("GET", "/api/v1/timelines/home?limit=20", bob))
        assert len(page) == 20
    newest = max(posted_at, key=int)
    assert page[0]["id"] == newest
    print(f"\ntusk api on 2 workers: REST post {percentiles(post_samples)}")
    print(f"tusk api on 2 workers: post start -> follower's WebSocket update {percentiles(stream_samples)}")
    print(f"tusk api on 2 workers: REST home read (20 statuses) {percentiles(read_samples)}")
