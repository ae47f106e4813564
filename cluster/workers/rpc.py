"""The worker's request/reply over loopback HTTP: appends, queries and PState reads for the tasks it owns.

Bodies are msgpack maps (records and results are msgpack data already). A request for a task the worker
does not run answers 409, *before* anything is appended, so the client may always retry it elsewhere;
a record the module rejects answers 422, a record a topology gave up on 424, a bad request 400.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
from aiohttp import web

from cluster.client import Ack, RecordFailedError
from cluster.workers.task_host import NotOwnedError, TaskHost
from pstates.errors import TuskError
from topology.context import RecordRejected

log = logging.getLogger(__name__)

MSGPACK = "application/msgpack"
NOT_OWNER, REJECTED, FAILED, BAD_REQUEST = 409, 422, 424, 400

HostLookup = Callable[[int], TaskHost | None]
RoutingBytes = Callable[[], bytes]


def pack(value: object) -> bytes:
    """msgpack bytes of a request or reply body."""
    return bytes(msgpack.packb(value, use_bin_type=True))


def unpack(raw: bytes) -> Any:
    """Parse a body packed by `pack`."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def reply(value: object, status: int = 200) -> web.Response:
    """A msgpack response."""
    return web.Response(body=pack(value), status=status, content_type=MSGPACK)


def worker_app(host_of: HostLookup, routing: RoutingBytes) -> web.Application:
    """The worker's RPC routes over its task hosts (`host_of(task)` is None for a task it does not run)."""

    def on_task(handler: Callable[[TaskHost, dict[str, Any]], Awaitable[object]]) -> Any:
        async def route(request: web.Request) -> web.Response:
            body = unpack(await request.read())
            host = host_of(int(body["task"]))
            if host is None:
                return reply({"error": f"task {body['task']} is not served here"}, NOT_OWNER)
            try:
                return reply({"value": await handler(host, body)})
            except NotOwnedError as exc:
                return reply({"error": str(exc)}, NOT_OWNER)
            except RecordRejected as exc:
                return reply({"error": str(exc), "kind": exc.kind}, REJECTED)
            except RecordFailedError as exc:
                return reply({"error": str(exc)}, FAILED)
            except (TuskError, KeyError, ValueError, TypeError, AttributeError) as exc:
                return reply({"error": f"{type(exc).__name__}: {exc}"}, BAD_REQUEST)

        return route

    async def append(host: TaskHost, body: dict[str, Any]) -> object:
        result = await host.append_to(
            body["module"], body["depot"], int(body["partition"]), body["record"], Ack(body["ack"])
        )
        return [result.partition, result.offset, dict(result.results)]

    async def query(host: TaskHost, body: dict[str, Any]) -> object:
        return host.query_here(body["module"], body["name"], tuple(body["args"]), body["kwargs"])

    async def read_pstate(host: TaskHost, body: dict[str, Any]) -> object:
        args, kwargs = tuple(body["args"]), body["kwargs"]
        return host.read_pstate(body["module"], body["name"], body["method"], args, kwargs)

    async def get_routing(_request: web.Request) -> web.Response:
        return web.Response(body=routing(), content_type=MSGPACK)

    app = web.Application(client_max_size=16 << 20)
    app.router.add_post("/append", on_task(append))
    app.router.add_post("/query", on_task(query))
    app.router.add_post("/pstate", on_task(read_pstate))
    app.router.add_get("/routing", get_routing)
    return app
