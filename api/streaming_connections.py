"""The streaming API's connections and the index that finds them by what routes to them.

A `Connection` is one WebSocket or SSE client: who it is, the streams it follows and a bounded queue of
outgoing messages; a client that falls `max_pending` messages behind is closed (and counted) so it
reconnects and re-fetches with REST rather than silently missing statuses. `ConnectionRegistry` indexes
connections by accounts with a `user` stream (a home delivery page of 5,000 accounts costs one set
intersection with the connected ones, not 5,000 lookups) and by stream key for the others (`public`,
`public:local`, `hashtag` + tag...). The streaming hub (`api.streaming_hub`) is the registry plus the routing
of the cluster's output events.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_PENDING = 1_000

# A stream key: the stream name and its argument, e.g. ("public",), ("hashtag", "tusk"), ("list", "7").
StreamKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one stream of a connection, as Mastodon frames it."""

    stream: list[str]
    event: str
    payload: str


@dataclass(eq=False, slots=True)
class Connection:
    """One client connection: who it is, the streams it follows, its bounded outgoing queue."""

    account: int | None
    max_pending: int = DEFAULT_MAX_PENDING
    streams: set[StreamKey] = field(default_factory=set)
    overflowed: bool = False
    closed: bool = False
    _queue: deque[Message] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, message: Message) -> bool:
        """Queue `message`; a full queue closes the connection instead (returns False only then)."""
        if self.closed:
            return True  # being torn down: nothing to count
        if len(self._queue) >= self.max_pending:
            self.overflowed = True
            self.close()
            return False
        self._queue.append(message)
        self._ready.set()
        return True

    async def next(self) -> Message | None:
        """Wait for the next message; None once the connection is closed."""
        while not self.closed:
            if self._queue:
                return self._queue.popleft()
            self._ready.clear()
            await self._ready.wait()
        return None

    def close(self) -> None:
        """Stop this connection: its writer gets None and ends the response."""
        self.closed = True
        self._ready.set()


class ConnectionRegistry:
    """The connections of one process, indexed by `user` account and by stream key."""

    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.max_pending = max_pending
        self.users: dict[int, set[Connection]] = {}  # accounts with a `user` stream
        self.streams: dict[StreamKey, set[Connection]] = {}  # every other stream key
        self.slow_disconnects = 0  # connections closed because their client fell behind

    # -- connections -----------------------------------------------------------------------------------

    def connect(self, account: int | None) -> Connection:
        """Register a new connection of `account` (None: anonymous, public streams only)."""
        return Connection(account, self.max_pending)

    def join(self, connection: Connection, key: StreamKey) -> None:
        """Route `key`'s events to `connection`."""
        connection.streams.add(key)
        if key == ("user",) and connection.account is not None:
            self.users.setdefault(connection.account, set()).add(connection)
        else:
            self.streams.setdefault(key, set()).add(connection)

    def leave(self, connection: Connection, key: StreamKey) -> None:
        """Stop routing `key`'s events to `connection`."""
        connection.streams.discard(key)
        index: dict[Any, set[Connection]] = self.users if key == ("user",) else self.streams
        index_key: Any = connection.account if key == ("user",) else key
        members = index.get(index_key)
        if members is not None:
            members.discard(connection)
            if not members:
                del index[index_key]

    def disconnect(self, connection: Connection) -> None:
        """Forget `connection` everywhere and close it."""
        for key in list(connection.streams):
            self.leave(connection, key)
        connection.close()

    def push_to_account(self, account: int, event: str, payload: str = "") -> None:
        """Send a `user` stream event (one a REST change causes, like `filters_changed`) to `account`'s connections."""
        message = Message(["user"], event, payload)
        for connection in list(self.users.get(account, ())):
            self.send(connection, message)

    def close_all(self) -> None:
        """Close every connection (they reconnect and re-fetch)."""
        for connection in {c for members in (*self.users.values(), *self.streams.values()) for c in members}:
            connection.close()

    def send(self, connection: Connection, message: Message) -> None:
        """Queue `message` on `connection`; one that fell too far behind is disconnected instead."""
        if not connection.send(message):
            self.slow_disconnects += 1
            self.disconnect(connection)
