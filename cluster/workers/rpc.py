"""The worker's request/reply over loopback HTTP: appends, queries and PState reads for the tasks it owns.

Bodies are msgpack maps. Tuples and sets keep their type on the wire (msgpack extension types): a query
argument like `("tag", "python")` is a PState key whose encoding differs from a list's, and module code
that reads another task's results should see what it would see embedded. A request for a task the worker
does not run answers 409, *before* anything is appended, so the client may always retry it elsewhere;
a record the module rejects answers 422, a record a topology gave up on 424, a bad request 400.

The server runs on the worker's front thread (`cluster.workers.front`), not on the main loop: appends are
handed to the main loop (where the depot logs and the runners live) and awaited; reads run on a thread
pool against committed state, so a worker answers reads even while its main loop is blocked inside
topology code waiting for a read of its own (see docs/kafka.md, "Cross-task reads").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
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
TUPLE_EXT, SET_EXT = 1, 2

HostLookup = Callable[[int], TaskHost | None]
RoutingBytes = Callable[[], bytes]


class WorkerRequestError(TuskError):
    """A worker refused a request as malformed (unknown module, query, method...)."""


def _encode_other(value: object) -> object:
    if isinstance(value, tuple):
        return msgpack.ExtType(TUPLE_EXT, pack(list(value)))
    if isinstance(value, set | frozenset):
        return msgpack.ExtType(SET_EXT, pack(list(value)))
    base: Any
    for base in (bool, int, float, str, bytes, dict, list):  # enums and other subclasses: as their base type
        if isinstance(value, base):
            return base(value)
    raise TypeError(f"cannot send a {type(value).__name__} between workers")


def _decode_ext(code: int, data: bytes) -> object:
    if code == TUPLE_EXT:
        return tuple(unpack(data))
    if code == SET_EXT:
        return set(unpack(data))
    return msgpack.ExtType(code, data)


def pack(value: object) -> bytes:
    """msgpack bytes of a request or reply body (tuples and sets kept)."""
    return bytes(msgpack.packb(value, use_bin_type=True, strict_types=True, default=_encode_other))


def unpack(raw: bytes) -> Any:
    """Parse a body packed by `pack`."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False, ext_hook=_decode_ext)


def unpacker() -> msgpack.Unpacker:
    """A streaming parser of values packed by `pack` and written back to back."""
    return msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=_decode_ext)


def reply(value: object, status: int = 200) -> web.Response:
    """A msgpack response."""
    return web.Response(body=pack(value), status=status, content_type=MSGPACK)


def worker_app(
    host_of: HostLookup,
    routing: RoutingBytes,
    main_loop: asyncio.AbstractEventLoop,
    read_pool: Executor,
    install_outputs: Callable[[web.Application], None] | None = None,
) -> web.Application:
    """The worker's RPC routes over its task hosts (`host_of(task)` is None for a task it does not run).

    `install_outputs` adds `POST /outputs`, the module output streams (`cluster.workers.output_stream`).
    """

    def owner(body: dict[str, Any]) -> TaskHost:
        host = host_of(int(body["task"]))
        if host is None:
            raise NotOwnedError(f"task {body['task']} is not served here")
        return host

    async def append_on_main(body: dict[str, Any]) -> object:
        async def append() -> object:
            record, ack = body["record"], Ack(body["ack"])
            result = await owner(body).append_to(body["module"], body["depot"], int(body["partition"]), record, ack)
            return [result.partition, result.offset, dict(result.results)]

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(append(), main_loop))

    async def query_in_pool(body: dict[str, Any]) -> object:
        def query() -> object:
            return owner(body).query_here(body["module"], body["name"], tuple(body["args"]), body["kwargs"])

        return await asyncio.get_running_loop().run_in_executor(read_pool, query)

    async def read_in_pool(body: dict[str, Any]) -> object:
        def read() -> object:
            args, kwargs = tuple(body["args"]), body["kwargs"]
            return owner(body).read_pstate(body["module"], body["name"], body["method"], args, kwargs)

        return await asyncio.get_running_loop().run_in_executor(read_pool, read)

    async def get_routing(_request: web.Request) -> web.Response:
        return web.Response(body=routing(), content_type=MSGPACK)

    app = web.Application(client_max_size=16 << 20)
    app.router.add_post("/append", answering(append_on_main))
    app.router.add_post("/query", answering(query_in_pool))
    app.router.add_post("/pstate", answering(read_in_pool))
    app.router.add_get("/routing", get_routing)
    if install_outputs is not None:
        install_outputs(app)
    return app


def answering(handler: Callable[[dict[str, Any]], Awaitable[object]]) -> Any:
    """An aiohttp route running `handler(body)` and mapping our errors to their status codes."""

    async def route(request: web.Request) -> web.Response:
        body = unpack(await request.read())
        try:
            value = await handler(body)
        except NotOwnedError as exc:
            return reply({"error": str(exc)}, NOT_OWNER)
        except RecordRejected as exc:
            return reply({"error": str(exc), "kind": exc.kind}, REJECTED)
        except RecordFailedError as exc:
            return reply({"error": str(exc)}, FAILED)
        except (TuskError, KeyError, ValueError, TypeError, AttributeError) as exc:
            return reply({"error": f"{type(exc).__name__}: {exc}"}, BAD_REQUEST)
        try:
            return reply({"value": value})
        except TypeError as exc:  # a query result msgpack cannot carry: the module's bug, said clearly
            return reply({"error": f"the result cannot be sent: {exc}"}, BAD_REQUEST)

    return route
