"""The streaming hub: core's and notifications' output events -> the connected clients that should see them.

One subscription to core's outputs per process feeds every WebSocket and SSE connection. The hub is the
process's `ConnectionRegistry` (`api.streaming_connections`: connections indexed by `user` account and by
stream key, each with a bounded queue) plus the routing of output events. A status is hydrated and rendered
once per event, without a viewer, as Mastodon renders stream payloads; each receiving viewer is then
filtered (blocks both ways, active mutes). If the hub itself falls behind the cluster (its subscription
dropped events), every connection is closed, so clients reconnect and re-fetch with REST. Notifications
(the notifications module's `notifications` output) go to the recipient's `user` and `user:notification`
connections, rendered for the recipient. An edit (`status_updates`) sends `status.update` where the status
went: the author's and connected followers' `user` streams (mentioned accounts' for a direct status), and
public and hashtag streams for a public one. A changed direct conversation (`conversations`) sends the
Conversation to the participant's `direct` streams. On workers a status can be delivered before it is stored
on its own task (its `store_status` hop lands later): such an event is routed again a little later
(`NOT_STORED_RETRIES`), off the pump.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from api import conversations, notifications, render
from api.config import CLIENT
from api.streaming_connections import DEFAULT_MAX_PENDING, ConnectionRegistry, Message, StreamKey
from cluster.client import OutputEvent, Subscription
from modules.core.ids import render as render_id
from modules.core.text import normalize_tag
from modules.relationships.records import mute_active

log = logging.getLogger(__name__)

CORE, RELATIONSHIPS, NOTIFICATIONS = "core", "relationships", "notifications"
OUTPUTS = ("home_updates", "list_updates", "public_updates", "status_deletes", "status_updates", "conversations")
NOT_STORED_RETRIES, NOT_STORED_WAIT_S = 20, 0.05  # a status still not stored after ~1 s is given up on
PUBLIC_STREAMS = ("public", "public:local", "public:remote", "hashtag", "hashtag:local")


class NotStoredYet(Exception):
    """An event's status is not stored on its task yet (on workers, its hop is still in flight)."""


class StreamingHub(ConnectionRegistry):
    """Routes core's output events to connections; owns the one subscription of this process."""

    def __init__(self, app: web.Application, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        super().__init__(max_pending)
        self._app = app
        self._subscription: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._notifications: Subscription | None = None
        self._notification_pump: asyncio.Task[None] | None = None
        self._seen_dropped = 0
        self._retries: set[asyncio.Task[None]] = set()

    @property
    def app(self) -> web.Application:
        """The application (what `api.render` reads the client and config from)."""
        return self._app

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to core's outputs and start routing their events."""
        try:
            self._subscription = await self._app[CLIENT].subscribe(CORE, *OUTPUTS)
        except NotImplementedError:
            log.warning("this cluster runtime publishes no outputs: streaming connections will stay silent")
            return
        self._pump = asyncio.get_running_loop().create_task(self._run())
        await self._start_notifications()

    async def _start_notifications(self) -> None:
        """Subscribe to the notifications module's output, if that module runs here."""
        try:
            self._notifications = await self._app[CLIENT].subscribe(NOTIFICATIONS, NOTIFICATIONS)
        except KeyError:  # the runtime's UnknownModuleError: this server runs without notifications
            log.warning("the notifications module is not launched: no notification events will stream")
            return
        self._notification_pump = asyncio.get_running_loop().create_task(self._run_notifications())

    async def stop(self) -> None:
        """Unsubscribe, stop routing and close every connection."""
        for subscription in (self._subscription, self._notifications):
            if subscription is not None:
                subscription.close()
        for pump in (self._pump, self._notification_pump, *self._retries):
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        self.close_all()

    # -- routing ---------------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._subscription is not None
        async for event in self._subscription:
            if self._subscription.dropped != self._seen_dropped:
                self._seen_dropped = self._subscription.dropped
                log.warning("streaming fell %d events behind the cluster: closing every connection", self._seen_dropped)
                self.close_all()
            await self._route(event)

    async def _route(self, event: OutputEvent, attempt: int = 0) -> None:
        try:
            await self.dispatch(event)
        except NotStoredYet:
            if attempt >= NOT_STORED_RETRIES:
                log.warning("status of %s/%s event %r was never stored", event.module, event.output, event.value)
                return
            retry = asyncio.get_running_loop().create_task(self._route_later(event, attempt + 1))
            self._retries.add(retry)
            retry.add_done_callback(self._retries.discard)
        except Exception:  # one bad event must not stop streaming for everyone
            log.exception("could not route %s/%s event %r", event.module, event.output, event.value)

    async def _route_later(self, event: OutputEvent, attempt: int) -> None:
        await asyncio.sleep(NOT_STORED_WAIT_S)  # a bounded wait for the status' hop, off the pump
        await self._route(event, attempt)

    async def _run_notifications(self) -> None:
        assert self._notifications is not None
        async for event in self._notifications:
            try:
                await self.notify(event.value["account"], event.value["notification"])
            except Exception:  # one bad event must not stop streaming for everyone
                log.exception("could not route notification event %r", event.value)

    async def notify(self, account: int, found: dict[str, Any]) -> None:
        """Send a new notification to the recipient's `user` and `user:notification` connections."""
        targets = [c for c in self.users.get(account, ()) if ("user",) in c.streams]
        targets += [c for c in self.streams.get(("user:notification",), ()) if c.account == account]
        targets = list(dict.fromkeys(targets))  # a connection on both streams gets it once
        if not targets:
            return
        rendered = await notifications.rendered(self, account, [found])
        if not rendered:
            return
        payload = orjson.dumps(rendered[0]).decode()
        for connection in targets:
            stream = ["user"] if ("user",) in connection.streams else ["user:notification"]
            self.send(connection, Message(stream, "notification", payload))

    async def dispatch(self, event: OutputEvent) -> None:
        """Route one output event to the connections that should see it."""
        value: dict[str, Any] = event.value
        if event.output == "home_updates":
            await self._home_update(value["status"], value["accounts"])
        elif event.output == "list_updates":
            await self._list_update(value["status"], value["lists"])
        elif event.output == "public_updates":
            await self._public_update(value)
        elif event.output == "status_deletes":
            await self._delete(value)
        elif event.output == "status_updates":
            await self._status_update(value)
        elif event.output == "conversations":
            await self._conversation(value["account"], value["conversation"])

    async def _home_update(self, status_id: int, accounts: Iterable[int]) -> None:
        targets = self.users.keys() & accounts
        if not targets:
            return  # nobody connected got it: no hydration at all
        await self._send_status(targets, status_id, "update")

    async def _list_update(self, status_id: int, lists: list[list[int]]) -> None:
        """Send a status to the `list` streams of its lists' owners (rendered for each owner: they chose it)."""
        for owner, list_id in lists:
            key = ("list", str(list_id))
            connections = [c for c in self.streams.get(key, ()) if c.account == owner]
            if not connections:
                continue
            found = await render.statuses(self, owner, [status_id], "home")
            if found:
                message = Message(list(key), "update", orjson.dumps(found[0]).decode())
                for connection in connections:
                    self.send(connection, message)

    async def _public_update(self, event: dict[str, Any]) -> None:
        keys = [key for key in public_keys(event) if key in self.streams]
        if not keys:
            return
        rendered = await self._render(event["status"])
        if rendered is None:
            return
        author, payload = rendered
        hidden = _Hidden(self, author)
        for key in keys:
            message = Message(list(key), "update", payload)
            for connection in list(self.streams.get(key, ())):
                if not await hidden(connection.account):
                    self.send(connection, message)

    async def _delete(self, event: dict[str, Any]) -> None:
        author, payload = event["author"], render_id(event["status"])
        following = self._app[CLIENT].pstate(RELATIONSHIPS, "$$following")
        targets = [a for a in self.users if a == author or await following.contains(a, author)]
        await self._send_to_users(targets, None, Message(["user"], "delete", payload))
        if event.get("visibility") == "public":
            for key in [k for k in self.streams if k[0] in PUBLIC_STREAMS]:
                for connection in list(self.streams.get(key, ())):
                    self.send(connection, Message(list(key), "delete", payload))

    async def _status_update(self, event: dict[str, Any]) -> None:
        author = event["author"]
        readers = set(event.get("mentions") or ())
        if event.get("visibility") != "direct":
            following = self._app[CLIENT].pstate(RELATIONSHIPS, "$$following")
            readers |= {a for a in self.users if a == author or await following.contains(a, author)}
        users = self.users.keys() & (readers | {author})
        keys = [key for key in public_keys(event) if key in self.streams]
        if not users and not keys:
            return  # nobody connected got it: no hydration at all
        payload = await self._send_status(users, event["status"], "status.update")
        if payload is None:
            return  # not public (nor deleted since): no public stream shows it
        hidden = _Hidden(self, author)
        for key in keys:
            for connection in list(self.streams.get(key, ())):
                if not await hidden(connection.account):
                    self.send(connection, Message(list(key), "status.update", payload))

    async def _conversation(self, account: int, conversation: int) -> None:
        targets = [c for c in self.streams.get(("direct",), ()) if c.account == account]
        if not targets:
            return
        entry = await self._app[CLIENT].query(CORE, "direct_conversation", account, conversation)
        if entry is None:
            return  # removed since: nothing to show
        rendered = await conversations.rendered(self, account, [entry])
        payload = orjson.dumps(rendered[0]).decode()
        for connection in targets:
            self.send(connection, Message(["direct"], "conversation", payload))

    async def _send_status(self, accounts: Iterable[int], status_id: int, event: str) -> str | None:
        """Send a status to `accounts`' user streams; return its no-viewer payload (None if only some may see it).

        A public or unlisted status renders once for no viewer. A private or direct one renders for nobody, so
        it is rendered for each receiving account (core's delivery chose them; rendering checks them again).
        """
        rendered = await self._render(status_id)
        if rendered is not None:
            author, payload = rendered
            await self._send_to_users(accounts, author, Message(["user"], event, payload))
            return payload
        for account in accounts:
            found = await render.statuses(self, account, [status_id])
            if found:
                author = int(found[0]["account"]["id"])
                await self._send_to_users([account], author, Message(["user"], event, orjson.dumps(found[0]).decode()))
        return None

    async def _send_to_users(self, accounts: Iterable[int], author: int | None, message: Message) -> None:
        hidden = _Hidden(self, author)
        for account in accounts:
            if author is None or not await hidden(account):
                for connection in list(self.users.get(account, ())):
                    self.send(connection, message)

    async def _render(self, status_id: int) -> tuple[int, str] | None:
        """The author and the JSON of the status, rendered for no viewer (None once deleted, or if not public)."""
        found = await render.statuses(self, None, [status_id])
        if not found:
            if await self._app[CLIENT].pstate(CORE, "$$statuses").get(status_id) is None:
                raise NotStoredYet(status_id)
            return None
        status = found[0]
        return int(status["account"]["id"]), orjson.dumps(status).decode()

    async def hides(self, viewer: int, author: int) -> bool:
        """Whether `viewer` must not see `author`'s statuses: a block either way or an active mute."""
        client = self._app[CLIENT]
        blocking = client.pstate(RELATIONSHIPS, "$$blocking")
        if await blocking.contains(viewer, author) or await blocking.contains(author, viewer):
            return True
        mute = await client.pstate(RELATIONSHIPS, "$$muting").get(viewer, author)
        return mute_active(mute, int(time.time() * 1000))


class _Hidden:
    """Per-event memo of `StreamingHub.hides` for one author (a viewer on several streams is checked once)."""

    def __init__(self, hub: StreamingHub, author: int | None) -> None:
        self._hub = hub
        self._author = author
        self._memo: dict[int, bool] = {}

    async def __call__(self, viewer: int | None) -> bool:
        if viewer is None or self._author is None or viewer == self._author:
            return False
        found = self._memo.get(viewer)
        if found is None:
            found = self._memo[viewer] = await self._hub.hides(viewer, self._author)
        return found


def public_keys(event: dict[str, Any]) -> list[StreamKey]:
    """The public and hashtag stream keys a `public_updates` event belongs to."""
    if event.get("visibility") != "public":
        return []
    local = bool(event.get("local", True))
    keys: list[StreamKey] = [("public",), ("public:local",) if local else ("public:remote",)]
    for tag in event.get("tags") or []:
        name = normalize_tag(str(tag))  # core's tags are normalized already; a stream key is too
        keys.append(("hashtag", name))
        if local:
            keys.append(("hashtag:local", name))
    return keys
