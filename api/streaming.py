"""Streaming: the multiplexed WebSocket `/api/v1/streaming`, the SSE streams under it, and `health`.

Events are pushed from core's outputs by the `StreamingHub` (one subscription per process), never polled.
A token comes from `Authorization: Bearer`, the `access_token` parameter or, for WebSockets, the
`Sec-WebSocket-Protocol` header (echoed back in the handshake, as browsers require). Public and hashtag
streams need no token; with one, or on a user stream, the token needs `read` or `read:statuses`
(`read:notifications` for `user:notification`). WebSocket frames are Mastodon's
`{"stream": [name, (tag)], "event": ..., "payload": "<JSON string>"}`; SSE sends `event:` / `data:`
pairs and a `:thump` comment every `HEARTBEAT_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from api.config import CLIENT, Handler, Route
from api.errors import ApiError, forbidden, unauthorized
from api.oauth import Principal, digest
from api.streaming_connections import Connection, Message, StreamKey
from api.streaming_hub import PUBLIC_STREAMS, StreamingHub
from modules.core.text import normalize_tag

HUB = web.AppKey("streaming_hub", StreamingHub)
HEARTBEAT_S = web.AppKey("streaming_heartbeat_s", float)
DEFAULT_HEARTBEAT_S = 15.0
USER_STREAMS = ("user", "user:notification", "list", "direct")
MAX_TAG_CHARS = 100
SSE_PATHS = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/remote": "public:remote",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    "direct": "direct",
}


def routes() -> list[Route]:
    """The routes of this resource."""
    sse = [("GET", f"/api/v1/streaming/{path}", _sse_handler(name)) for path, name in SSE_PATHS.items()]
    return [("GET", "/api/v1/streaming", websocket), ("GET", "/api/v1/streaming/health", health), *sse]


def install(app: web.Application) -> None:
    """Give `app` a streaming hub that starts with the server and closes every stream on shutdown."""
    app[HUB] = StreamingHub(app)
    app.on_startup.append(_start_hub)
    app.on_shutdown.append(_stop_hub)


async def health(request: web.Request) -> web.Response:
    """GET /api/v1/streaming/health: `OK` while the server is up."""
    return web.Response(text="OK")


async def websocket(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/streaming: a WebSocket multiplexing any number of streams (`?stream=` subscribes at once)."""
    token, protocol = _token(request, websocket=True)
    caller = await _caller(request, token)
    first = request.query.get("stream")
    key = stream_key(first, caller, request.query) if first else None  # a bad one fails the handshake
    hub = request.app[HUB]
    connection = hub.connect(caller.account if caller else None)
    if key is not None:
        hub.join(connection, key)  # before the handshake: a client that sees it open is subscribed
    ws = web.WebSocketResponse(protocols=(protocol,) if protocol else ())
    writer: asyncio.Task[None] | None = None
    try:
        await ws.prepare(request)
        writer = asyncio.get_running_loop().create_task(_write_frames(ws, connection))
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                await _control(ws, hub, connection, caller, frame.data)
    finally:
        hub.disconnect(connection)
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer
    return ws


async def sse(request: web.Request, name: str) -> web.StreamResponse:
    """GET /api/v1/streaming/<stream>: one stream as server-sent events, with heartbeats."""
    token, _ = _token(request, websocket=False)
    caller = await _caller(request, token)
    key = stream_key(name, caller, request.query)
    hub = request.app[HUB]
    connection = hub.connect(caller.account if caller else None)
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}
    response = web.StreamResponse(headers=headers)
    hub.join(connection, key)  # before the headers go out: a client that sees them is subscribed
    try:
        await response.prepare(request)
        await response.write(b":)\n")
        await _write_events(response, connection, request.app.get(HEARTBEAT_S, DEFAULT_HEARTBEAT_S))
    except ConnectionResetError:
        pass  # the client went away: found out at the next write
    finally:
        hub.disconnect(connection)
    return response


def stream_key(name: str, caller: Principal | None, params: Mapping[str, str]) -> StreamKey:
    """The hub key of stream `name` with its `tag` / `list` parameter, checking the caller may follow it."""
    if name not in PUBLIC_STREAMS and name not in USER_STREAMS:
        raise ApiError(400, "Unknown stream type")
    scope = "read:notifications" if name == "user:notification" else "read:statuses"
    if name in USER_STREAMS and (caller is None or caller.account is None):
        raise unauthorized("Missing access token")
    if caller is not None and not caller.allows(scope):
        raise forbidden("Access token does not have the required scopes")
    if name.startswith("hashtag"):
        tag = normalize_tag(params.get("tag", "").strip().lstrip("#"))  # as core stores a status' tags
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise ApiError(400, "No tag for stream provided")
        return (name, tag)
    if name == "list":
        list_id = params.get("list", "")
        if not list_id.isdigit() or len(list_id) > 19:
            raise ApiError(400, "Missing list name parameter")
        return (name, list_id)
    return (name,)


# -- transport ---------------------------------------------------------------------------------------------


def _sse_handler(name: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, name)

    handler.__doc__ = f"GET the {name} stream as server-sent events."
    return handler


async def _write_events(response: web.StreamResponse, connection: Connection, heartbeat_s: float) -> None:
    while True:
        try:
            message = await asyncio.wait_for(connection.next(), heartbeat_s)
        except TimeoutError:
            await response.write(b":thump\n")
            continue
        if message is None:
            return
        await response.write(f"event: {message.event}\ndata: {message.payload}\n\n".encode())


async def _write_frames(ws: web.WebSocketResponse, connection: Connection) -> None:
    """Send the connection's messages until it closes; a client too slow to keep up is disconnected."""
    while (message := await connection.next()) is not None:
        await ws.send_str(_frame(message))
    code = WSCloseCode.TRY_AGAIN_LATER if connection.overflowed else WSCloseCode.GOING_AWAY
    await ws.close(code=code, message=b"too slow" if connection.overflowed else b"")


def _frame(message: Message) -> str:
    return orjson.dumps({"stream": message.stream, "event": message.event, "payload": message.payload}).decode()


async def _control(
    ws: web.WebSocketResponse, hub: StreamingHub, connection: Connection, caller: Principal | None, data: str
) -> None:
    """Apply one `subscribe` / `unsubscribe` frame; a bad one gets an error frame, the socket stays open."""
    try:
        command: Any = orjson.loads(data)
        if not isinstance(command, dict) or command.get("type") not in ("subscribe", "unsubscribe"):
            raise ApiError(400, "Unknown message type")
        params = {k: str(v) for k, v in command.items() if k in ("tag", "list") and v is not None}
        key = stream_key(str(command.get("stream", "")), caller, params)
    except orjson.JSONDecodeError:
        await ws.send_str(orjson.dumps({"error": "Invalid JSON", "status": 400}).decode())
        return
    except ApiError as error:
        await ws.send_str(orjson.dumps({"error": error.message, "status": error.status}).decode())
        return
    if command["type"] == "subscribe":
        hub.join(connection, key)
    else:
        hub.leave(connection, key)


# -- authentication ----------------------------------------------------------------------------------------


def _token(request: web.Request, *, websocket: bool) -> tuple[str | None, str | None]:
    """The bearer token and, when it came as the WebSocket subprotocol, the protocol to echo."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None, None
    if token := request.query.get("access_token"):
        return token, None
    protocol = request.headers.get("Sec-WebSocket-Protocol", "").strip() if websocket else ""
    return (protocol, protocol) if protocol else (None, None)


async def _caller(request: web.Request, token: str | None) -> Principal | None:
    """Who `token` belongs to (None without one); 401 for a token that is not valid."""
    if not token:
        return None
    found = await request.app[CLIENT].query("auth", "token", digest(token))
    if found is None:
        raise unauthorized("Invalid access token")
    return Principal(found["account"], frozenset(found["scopes"]), found["client_id"])


async def _start_hub(app: web.Application) -> None:
    await app[HUB].start()


async def _stop_hub(app: web.Application) -> None:
    await app[HUB].stop()
