"""`WorkerClient`: the `ClusterClient` of the distributed runtime, routing each request to the owning worker.

It knows the modules (their partitioners and query routes) and the task count, reads the routing table
that workers publish on `NAMESPACE.workers.routing`, and sends appends, queries and PState reads over the
workers' loopback HTTP RPC. A request refused before anything happened (connection refused, 409 "not the
owner") is retried with a fresh routing table until `failover_timeout_s`; that covers a rebalance and a
dead worker. An append whose connection broke after it was sent is *maybe appended*: it is not retried,
and the caller gets `AppendOutcomeUnknownError` (as after any timeout).

`subscribe` merges a module's outputs from every worker (`cluster.workers.subscriptions`); while anything is
subscribed, a watcher re-reads the routing table every second so the streams follow the set of workers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from cluster.client import Ack, AppendResult, ClientPState, ClusterClient, RecordFailedError, Subscription
from cluster.clock import SystemClock
from cluster.depot_storage import DEFAULT_NAMESPACE, topic_part
from cluster.outputs import DEFAULT_MAX_PENDING, UnknownOutputError
from cluster.runtime import ModuleRuntime
from cluster.workers.assignor import RoutingTable
from cluster.workers.batches import append_many_batched
from cluster.workers.rpc import BAD_REQUEST, FAILED, MSGPACK, NOT_OWNER, REJECTED, WorkerRequestError, pack, unpack
from cluster.workers.subscriptions import ROUTING_POLL_S, WorkerSubscription
from cluster.workers.worker import routing_topic
from depots.codec import encode_record
from depots.errors import InternalDepotError
from depots.kafka_broker import BrokerSettings, fetch, high_watermark, new_client, start_within
from pstates.errors import TuskError
from topology.context import RecordRejected
from topology.module import Module

log = logging.getLogger(__name__)

ROUTING_TAIL = 16  # routing records read from the topic's end; the newest version wins
RETRY_MIN_S, RETRY_MAX_S = 0.02, 0.25


class RoutingUnavailableError(TuskError):
    """No worker answered for a task within the failover bound."""


class AppendOutcomeUnknownError(TuskError):
    """The connection broke after an append was sent: it may or may not be in the depot."""


class WorkerClient(ClusterClient):
    """Routes appends, queries and PState reads to the workers owning their tasks."""

    def __init__(
        self, broker_url: str, modules: Sequence[Module], tasks: int, *, failover_timeout_s: float = 30.0
    ) -> None:
        parts = urlsplit(broker_url)
        if parts.scheme != "kafka" or not parts.netloc:
            raise ValueError(f"expected kafka://HOST:PORT[/NAMESPACE], got {broker_url!r}")
        self._settings = BrokerSettings(parts.netloc)
        self._topic = routing_topic(topic_part(parts.path.strip("/") or DEFAULT_NAMESPACE))
        self.tasks = tasks
        self.failover_timeout_s = failover_timeout_s
        self.routing = RoutingTable(0, {})
        self._modules = {m.name: _routing_runtime(m, tasks) for m in modules}
        self.clock = SystemClock()  # what the workers' topologies stamp (`ctx.time_ms`): wall time
        self._kafka: Any = None
        self._http: aiohttp.ClientSession | None = None
        self._subscriptions: set[WorkerSubscription] = set()
        self._watcher: asyncio.Task[None] | None = None

    def add_module(self, module: Module, tasks: int) -> None:
        """Route requests for `module` on `tasks` tasks too (a cluster that launches modules one by one)."""
        self._modules[module.name] = _routing_runtime(module, tasks)

    async def start(self) -> None:
        """Connect to the broker (for the routing table) and open the HTTP session."""
        self._kafka = new_client(self._settings)
        await start_within(self._settings, self._kafka, "routing reader")
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.failover_timeout_s))

    async def close(self) -> None:
        """End every subscription, close the HTTP session and the broker connection."""
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        if self._http is not None:
            await self._http.close()
        if self._kafka is not None:
            await self._kafka.close()

    async def __aenter__(self) -> WorkerClient:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def refresh_routing(self) -> RoutingTable:
        """Read the newest routing table the workers published."""
        end = await high_watermark(self._kafka, self._topic, 0)
        if end > 0:
            fetched = await fetch(self._kafka, self._topic, 0, max(0, end - ROUTING_TAIL), 1 << 20)
            for entry in fetched.entries:
                table = RoutingTable.decode(entry.payload)
                if table.version >= self.routing.version:
                    self.routing = table
        return self.routing

    # -- ClusterClient ---------------------------------------------------------------------------------

    async def append(self, module: str, depot: str, record: object, ack: Ack = Ack.PROCESSED) -> AppendResult:
        """Append `record` through the worker owning its partition; see `Ack` for what is awaited."""
        runtime = self.runtime_of(module)
        spec = runtime.definition.depots.get(depot)
        if spec is None:
            raise KeyError(f"module {module!r} has no depot {depot!r}")
        if spec.is_internal:
            raise InternalDepotError(f"depot {depot!r} of module {module!r} is internal")
        encode_record(record, spec.max_record_bytes, depot)  # refuse a bad record here, before any request
        partition = runtime.partition_for(spec, record, None)
        body = {"module": module, "depot": depot, "partition": partition, "record": record, "ack": ack.value}
        value = await self.call_task(partition % runtime.tasks, "/append", body, retry_after_send=False)
        return AppendResult(int(value[0]), int(value[1]), value[2])

    async def append_many(
        self, module: str, depot: str, records: Sequence[object], ack: Ack = Ack.PROCESSED
    ) -> list[AppendResult]:
        """Append `records` with one request per owning task (`cluster.workers.batches`)."""
        spec = self.runtime_of(module).definition.depots.get(depot)
        if spec is None:
            raise KeyError(f"module {module!r} has no depot {depot!r}")
        if spec.is_internal:
            raise InternalDepotError(f"depot {depot!r} of module {module!r} is internal")
        for record in records:  # every record is checked before any is sent
            encode_record(record, spec.max_record_bytes, depot)
        return await append_many_batched(self, module, depot, records, ack)

    def pstate(self, module: str, name: str) -> ClientPState:
        """A handle whose reads go to the worker owning each key's task."""
        return _WorkerPState(self, module, name)

    async def query(self, module: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run `module`'s query on the owning task(s); fan-out queries are combined here."""
        runtime = self.runtime_of(module)
        spec = runtime.definition.queries.get(name)
        if spec is None:
            raise KeyError(f"module {module!r} has no query {name!r}")
        route = spec.route
        body = {"module": module, "name": name, "args": list(args), "kwargs": kwargs}
        if route.fans_out:
            assert route.combine is not None
            values = await asyncio.gather(*(self.call_task(t, "/query", body) for t in range(runtime.tasks)))
            return route.combine(list(values))
        by_task = route.task_arg is not None
        task = int(args[route.task_arg or 0]) if by_task else runtime.task_of(args[route.key_arg or 0])
        return await self.call_task(task, "/query", body)

    async def subscribe(self, module: str, *outputs: str, max_pending: int = DEFAULT_MAX_PENDING) -> Subscription:
        """Receive what `module`'s topologies emit on `outputs` on every worker, from now on (see `Subscription`).

        Returns once the stream of every worker in the routing table is attached (or `READY_BOUND_S` passed).
        """
        declared = self.runtime_of(module).definition.outputs
        if not outputs:
            raise ValueError(f"subscribe to at least one output of module {module!r}")
        for name in outputs:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise UnknownOutputError(f"module {module!r} has no output {name!r} (it declares: {known})")
        subscription = WorkerSubscription(self, module, list(outputs), max_pending)
        self._subscriptions.add(subscription)
        await self.refresh_routing()
        await subscription.sync(set(self.routing.owners.values()), wait=True)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch_routing(), name="routing watcher")
        return subscription

    def forget(self, subscription: WorkerSubscription) -> None:
        """Stop following the routing for a closed subscription."""
        self._subscriptions.discard(subscription)
        if not self._subscriptions and self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    @property
    def http(self) -> aiohttp.ClientSession:
        """The HTTP session of requests and output streams."""
        assert self._http is not None, "start() the client first"
        return self._http

    async def _watch_routing(self) -> None:
        """Keep every subscription streaming from every worker of the newest routing table."""
        while self._subscriptions:
            await asyncio.sleep(ROUTING_POLL_S)
            try:
                await self.refresh_routing()
            except Exception:  # a broker hiccup: the streams keep running, the next poll retries
                log.warning("reading the routing table failed", exc_info=True)
            addresses = set(self.routing.owners.values())
            for subscription in list(self._subscriptions):
                await subscription.sync(addresses)

    # -- requests --------------------------------------------------------------------------------------

    def runtime_of(self, module: str) -> ModuleRuntime:
        """The routing runtime (partitioners, query routes, no stores) of a module this client knows."""
        runtime = self._modules.get(module)
        if runtime is None:
            raise KeyError(f"this client does not know module {module!r}")
        return runtime

    async def call_task(self, task: int, path: str, body: dict[str, Any], *, retry_after_send: bool = True) -> Any:
        """Send a request to the owner of `task`, retrying what was refused before it happened."""
        assert self._http is not None, "start() the client first"
        payload = pack({**body, "task": task})
        deadline = time.monotonic() + self.failover_timeout_s
        backoff = RETRY_MIN_S
        while True:
            address = self.routing.owners.get(task)
            if address is not None:
                try:
                    return await self._post(address, path, payload)
                except _Refused:
                    pass
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                    if not retry_after_send:
                        raise AppendOutcomeUnknownError(f"task {task} on {address}: {exc!r}") from exc
            if time.monotonic() > deadline:
                raise RoutingUnavailableError(f"no worker served task {task} within {self.failover_timeout_s:g} s")
            await asyncio.sleep(backoff)  # a bounded retry loop while the group rebalances
            backoff = min(RETRY_MAX_S, backoff * 2)
            await self.refresh_routing()

    async def _post(self, address: str, path: str, payload: bytes) -> Any:
        assert self._http is not None
        try:
            response = await self._http.post(f"http://{address}{path}", data=payload, headers={"Content-Type": MSGPACK})
        except aiohttp.ClientConnectorError as exc:  # nothing was sent
            raise _Refused from exc
        async with response:
            if response.content_type != MSGPACK:  # not our RPC's answer (aiohttp's own 404 / 500)
                raise TuskError(f"worker {address} answered {response.status}: {(await response.text())[:200]}")
            reply = unpack(await response.read())
            if response.status == 200:
                return reply["value"]
            if response.status == NOT_OWNER:
                raise _Refused
            if response.status == REJECTED:
                raise RecordRejected(reply["error"], reply.get("kind", "invalid"))
            if response.status == FAILED:
                raise RecordFailedError(reply["error"])
            if response.status == BAD_REQUEST:
                raise WorkerRequestError(reply["error"])
            raise TuskError(f"worker {address} answered {response.status}: {reply}")


class _Refused(Exception):
    """A request the worker did not act on: safe to send again."""


class _WorkerPState(ClientPState):
    def __init__(self, client: WorkerClient, module: str, name: str) -> None:
        self._client = client
        self._module = module
        self._name = name

    async def call(self, method: str, key: object, *args: Any, **kwargs: Any) -> Any:
        """Run view method `method(key, ...)` on the owning worker."""
        task = self._client.runtime_of(self._module).task_of(key)
        body = {"module": self._module, "name": self._name, "method": method, "args": [key, *args], "kwargs": kwargs}
        return await self._client.call_task(task, "/pstate", body)

    async def multi_get(self, keys: list[object]) -> list[Any]:
        """Values of top-level `keys`, one request per owning task."""
        runtime = self._client.runtime_of(self._module)
        by_task: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            by_task.setdefault(runtime.task_of(key), []).append(index)
        out: list[Any] = [None] * len(keys)
        for task, indexes in by_task.items():
            body = {"module": self._module, "name": self._name, "method": "multi_get", "kwargs": {}}
            values = await self._client.call_task(task, "/pstate", {**body, "args": [[keys[i] for i in indexes]]})
            for index, value in zip(indexes, values, strict=True):
                out[index] = value
        return out


def _routing_runtime(module: Module, tasks: int) -> ModuleRuntime:
    """A runtime holding no task and no log: just the module's partitioners and routes."""

    def no_store(_module: str, _task: int) -> Any:
        raise AssertionError("a routing runtime opens no store")

    return ModuleRuntime(module.definition(), tasks, Path("."), no_store, {}, owned=())
