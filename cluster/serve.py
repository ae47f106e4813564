"""`tusk run`: the embedded cluster with every module, and the Mastodon API over it; `tusk api`: the API alone.

`tusk api --broker kafka://...` serves the same application over a `WorkerClient`: it keeps no state (the
`tusk worker` processes hold it), so any number can run behind a load balancer. It creates no demo accounts.

On first start `tusk run` it creates the demo accounts alice, bob and charlie (passwords equal to the names), a few
follows and posts; every step is idempotent (registration and posts by request uuid, follows by pair), so
a restart on the same data directory changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path

import uvloop
from aiohttp import web

from api.accounts import register
from api.app import build_app
from api.config import ApiConfig
from api.instance import streaming_url
from api.rate_limit_rules import RateLimits
from api.secret_key import form_key
from cluster.client import ClusterClient
from cluster.inprocess import InProcessCluster
from cluster.workers.client import WorkerClient
from modules.auth import Auth
from modules.core import Core
from modules.global_timelines import GlobalTimelines
from modules.moderation import Moderation
from modules.notifications import Notifications
from modules.relationships import Relationships
from modules.search import Search
from modules.trends import Trends
from topology.module import Module

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = ("alice", "bob", "charlie")
DEMO_FOLLOWS = (("alice", "bob"), ("bob", "alice"), ("charlie", "alice"), ("charlie", "bob"))
DEMO_POSTS = (("alice", "Hello from Tusk!"), ("bob", "First post on an event-sourced Mastodon."))


def mastodon_modules() -> list[Module]:
    """Every Mastodon module in dependency order: Relationships, Core (mirrors it), then those mirroring both.

    Notifications, global timelines, trends and search mirror core's depots; trends and search consume its
    `*interactions` too (favourites for trending statuses, favourited and bookmarked statuses in search).
    Moderation mirrors nothing and comes before notifications, which reads its limited accounts.
    `tusk worker` hosts the same list, and a `WorkerClient` of them must be built from it too (same
    partitioners and routes).
    """
    return [
        Relationships(),
        Core(),
        Moderation(),
        Notifications(),
        GlobalTimelines(),
        Trends(interactions=True),
        Search(interactions=True),
        Auth(),
    ]


async def launch(cluster: InProcessCluster, tasks: int = 4) -> None:
    """Launch every Mastodon module (`mastodon_modules()`, in that order) on `cluster`."""
    for module in mastodon_modules():
        await cluster.launch(module, tasks=tasks)


async def seed_demo(client: ClusterClient, config: ApiConfig) -> dict[str, int]:
    """Create the demo accounts, follows and posts unless they exist; return the account ids by name."""
    ids: dict[str, int] = {}
    for name in DEMO_ACCOUNTS:
        found = await client.query("core", "account_by_username", name)
        ids[name] = found if found is not None else await register(client, config, name, f"{name}@localhost", name)
    for follower, followee in DEMO_FOLLOWS:
        record = {"op": "follow", "follower": ids[follower], "followee": ids[followee]}
        await client.append("relationships", "*follows", record)
    for number, (author, text) in enumerate(DEMO_POSTS):
        record = {"op": "create", "author": ids[author], "uuid": f"demo-{number}", "text": text}
        await client.append("core", "*statuses", record)
    return ids


async def _serve(data_dir: Path, host: str, port: int, rate_limits: RateLimits) -> None:
    media_store = f"file://{data_dir.resolve()}/media"
    config = ApiConfig(base_url=f"http://{host}:{port}", media_store=media_store, rate_limits=rate_limits)
    async with InProcessCluster(data_dir) as cluster:
        await launch(cluster)
        await seed_demo(cluster, config)
        runner = web.AppRunner(build_app(cluster, config), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(_banner(config, data_dir), flush=True)
        try:
            await _until_signalled()
        finally:
            await runner.cleanup()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _banner(config: ApiConfig, data_dir: Path) -> str:
    return (
        f"Tusk: Mastodon API on {config.base_url} (data in {data_dir.resolve()}); Ctrl-C stops.\n"
        "Demo accounts: alice, bob, charlie (password = the name; email NAME@localhost).\n"
        f"Apps log in through {config.base_url}/oauth/authorize (a login page; PKCE and oob work), or with\n"
        f"  POST {config.base_url}/api/v1/apps, then POST {config.base_url}/oauth/token with\n"
        "  grant_type=password&username=alice&password=alice&client_id=...&client_secret=...&scope=read+write+follow\n"
        f"Soapbox, Elk and other web clients: point their backend / server URL at {config.base_url}\n"
        f"  (streaming: {streaming_url(config)})."
    )


@dataclass(frozen=True, slots=True)
class ApiServerOptions:
    """How `tusk api` reaches the workers and serves the API."""

    broker: str  # kafka://HOST:PORT[/NAMESPACE], as the workers were given
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None  # the public URL (behind a proxy); default http://HOST:PORT
    tasks: int = 4  # the workers' --tasks
    media_store: str = "file:media"  # several API servers need a shared one (s3://...)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # The instance secret (`api.secret_key`); None: a random one, fine for a single API server only.
    secret: str | None = field(default=None, repr=False)


async def _serve_api(options: ApiServerOptions) -> None:
    base_url = options.base_url or f"http://{options.host}:{options.port}"
    config = ApiConfig(base_url=base_url, media_store=options.media_store, rate_limits=options.rate_limits)
    if options.secret is not None:
        config = replace(config, form_key=form_key(options.secret))
    else:
        print("tusk api: no --secret-key-file or $TUSK_SECRET_KEY: forms work only if one API server serves them")
    async with WorkerClient(options.broker, mastodon_modules(), options.tasks) as client:
        await _check_tasks(client, options.tasks)
        runner = web.AppRunner(build_app(client, config), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, options.host, options.port).start()
        print(f"Tusk API on {config.base_url} over the workers of {options.broker}; Ctrl-C stops.", flush=True)
        try:
            await _until_signalled()
        finally:
            await runner.cleanup()


async def _check_tasks(client: WorkerClient, tasks: int) -> None:
    """Refuse to serve with a task count other than the workers' (every request would go to the wrong task)."""
    routing = await client.refresh_routing()
    if routing.owners and max(routing.owners) + 1 != tasks:
        raise SystemExit(f"the workers run {max(routing.owners) + 1} tasks; start tusk api with --tasks to match")


def serve_api(options: ApiServerOptions) -> int:
    """Serve the Mastodon API over the workers until SIGINT or SIGTERM."""
    uvloop.run(_serve_api(options))
    return 0


def serve(data_dir: Path, host: str, port: int, rate_limits: RateLimits | None = None) -> int:
    """Run the cluster and the API until SIGINT or SIGTERM (with Mastodon's rate limits unless told otherwise)."""
    uvloop.run(_serve(data_dir, host, port, rate_limits or RateLimits()))
    return 0
