"""Cross-task reads on a worker: routed PState reads and queries, synchronous for the code that makes them.

Topology and query code reads other tasks' committed state synchronously (`ctx.pstate(name, module=...)`,
`ctx.query(...)`), as embedded. On a worker a read goes to:

* this task host, when the key is on its own task;
* a sibling task host of the same worker, called directly on the calling thread (committed state: RocksDB
  reads are thread-safe);
* the worker owning the task, by a *blocking* HTTP request to its RPC server (`http.client`, one
  keep-alive connection per thread and address).

Why blocking is safe from deadlock: a worker's RPC server runs on a thread of its own and answers reads
from a thread pool (`cluster.workers.front`), never on the main loop. So when worker A's main loop is
blocked in topology code waiting for B, and B's main loop waits for A, both reads are answered by the
other's pool. A chain of nested reads holds one pool thread per hop; the pool is sized well above the
nesting depth of the modules' queries (a query calls at most a few others).

A refused read (409: not the owner, task opening or closing; connection refused) is retried with the
newest routing table any worker knows (`GET /routing`). Past its bound the read raises
`TaskUnavailableError`: the round that made it fails and is retried after the runner yields the loop.
Stream topologies on workers do not count that as a failed attempt (`task_host`). The bound depends on
the calling thread: a read made on a running event loop (topology code on the worker's main loop) blocks
everything else on that loop, appends, hop polls and the opening of the tasks it gained included, so it
gives up after `loop_timeout_s`; a read on an RPC read thread (a client's query) waits up to `timeout_s`.
Measured in the Mastodon chaos test: after a rebalance, each worker's topologies read the tasks the other
survivor was still opening, blocking the loop 2 s per moved task and so delaying its own opening in turn.

Then, until the routing table changes (or `HOLD_OFF_S` passes), further reads of that task fail at once
instead of blocking again: after a worker dies, every topology reading its tasks would otherwise block the
main loop for the bound per retry, back to back (seen in the Mastodon chaos test: no failover for > 60 s,
when the group membership still ran on the main loop). While held off, a read makes one quick attempt (a
single request, no retries) at most every `PROBE_EVERY_S`: a new owner that was still opening the task when
the routing table changed answers soon after, and its readers should not wait out the hold-off to find it.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cluster.workers.assignor import RoutingTable
from cluster.workers.rpc import BAD_REQUEST, MSGPACK, NOT_OWNER, REJECTED, WorkerRequestError, pack, unpack
from cluster.workers.task_host import NotOwnedError, TaskUnavailableError
from pstates.errors import TuskError
from topology.context import RecordRejected

if TYPE_CHECKING:
    from cluster.workers.task_host import TaskHost

READ_TIMEOUT_S = 2.0  # how long a read on a read thread retries a task that refuses it
LOOP_READ_TIMEOUT_S = 0.3  # the same on an event loop, which nothing else can use meanwhile
HOLD_OFF_S = 10.0  # how long a task that did not answer fails reads at once, unless the routing table changes
PROBE_EVERY_S = 0.25  # while held off, how often one read tries a single request anyway
SOCKET_TIMEOUT_S = 30.0
RETRY_MIN_S, RETRY_MAX_S = 0.01, 0.2


class CrossTaskReads:
    """A worker's reads of any task: sibling task hosts in-process, other workers over blocking HTTP."""

    def __init__(
        self,
        hosts: Mapping[int, TaskHost],
        routing: Callable[[], RoutingTable],
        timeout_s: float = READ_TIMEOUT_S,
        probe_every_s: float = PROBE_EVERY_S,
        loop_timeout_s: float = LOOP_READ_TIMEOUT_S,
    ) -> None:
        self._hosts = hosts
        self._routing = routing
        self._timeout_s = timeout_s
        self._loop_timeout_s = loop_timeout_s
        self._probe_every_s = probe_every_s
        self._newest = RoutingTable(0, {})
        self._unanswered: dict[int, _HoldOff] = {}  # tasks that did not answer (shared by every reading thread)
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []  # every thread's, for close()
        self._opened_lock = threading.Lock()

    def close(self) -> None:
        """Close every thread's connections (after the read threads and the main loop stopped reading)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def query(self, task: int, module: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run `module`'s query `name` on `task`."""
        host = self._hosts.get(task)
        if host is not None:
            try:
                return host.query_here(module, name, args, kwargs)
            except NotOwnedError:
                pass  # closing: the task is moving, ask its next owner
        return self._remote(task, "/query", {"module": module, "name": name, "args": args, "kwargs": kwargs})

    def pstate(
        self, task: int, module: str, name: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Run view method `method` on `task`'s committed PState `name` of `module`."""
        host = self._hosts.get(task)
        if host is not None:
            try:
                return host.read_pstate(module, name, method, args, kwargs)
            except NotOwnedError:
                pass
        body = {"module": module, "name": name, "method": method, "args": args, "kwargs": kwargs}
        return self._remote(task, "/pstate", body)

    # -- remote ----------------------------------------------------------------------------------------

    def _remote(self, task: int, path: str, body: dict[str, Any]) -> Any:
        payload = pack({**body, "task": task})
        held = self._unanswered.get(task)
        if held is not None and held.version == self._table().version and time.monotonic() < held.until:
            return self._probe(task, held, path, payload)
        bound = self._loop_timeout_s if _blocks_a_loop() else self._timeout_s
        deadline = time.monotonic() + bound
        backoff = RETRY_MIN_S
        while True:
            address = self._table().owners.get(task)
            if address is not None:
                answered, value = self._ask_owner(task, address, path, payload)
                if answered:
                    return value
            if time.monotonic() > deadline:
                now = time.monotonic()
                self._unanswered[task] = _HoldOff(self._table().version, now + HOLD_OFF_S, now + self._probe_every_s)
                raise TaskUnavailableError(f"no worker answered a read of task {task} within {bound:g} s")
            time.sleep(backoff)  # blocking on purpose: this thread waits for its read (see the module docstring)
            backoff = min(RETRY_MAX_S, backoff * 2)
            self._ask_peers_for_routing()

    def _probe(self, task: int, held: _HoldOff, path: str, payload: bytes) -> Any:
        """A held-off task's read: one request if a probe is due, else (or if refused) fail at once."""
        now = time.monotonic()
        address = self._table().owners.get(task)
        if address is not None and now >= held.next_probe:
            held.next_probe = now + self._probe_every_s
            answered, value = self._ask_owner(task, address, path, payload)
            if answered:
                return value
        raise TaskUnavailableError(f"task {task} did not answer a read just now; waiting for a new routing table")

    def _ask_owner(self, task: int, address: str, path: str, payload: bytes) -> tuple[bool, Any]:
        """Ask `address` for the read: (True, value) if it answered (the task is no longer held off), else False."""
        try:
            value = self._post(address, path, payload)
        except _Refused:
            return False, None
        self._unanswered.pop(task, None)
        return True, value

    def _table(self) -> RoutingTable:
        own = self._routing()
        if own.version > self._newest.version:
            self._newest = own
        return self._newest

    def _ask_peers_for_routing(self) -> None:
        """Adopt the newest routing table any known worker holds (our own main loop may be the one waiting)."""
        for address in sorted(set(self._table().owners.values())):
            try:
                status, raw = self._request(address, "GET", "/routing", None)
            except _Refused:
                continue
            if status == 200:
                table = RoutingTable.decode(raw)
                if table.version > self._newest.version:
                    self._newest = table

    def _post(self, address: str, path: str, payload: bytes) -> Any:
        status, raw = self._request(address, "POST", path, payload)
        if status not in (200, NOT_OWNER, REJECTED, BAD_REQUEST):  # not our RPC's answer (aiohttp's own 500)
            raise TuskError(f"worker {address} answered {status} to a read: {raw[:200]!r}")
        reply = unpack(raw)
        if status == 200:
            return reply["value"]
        if status == NOT_OWNER:
            raise _Refused
        if status == REJECTED:
            raise RecordRejected(reply["error"], reply.get("kind", "invalid"))
        raise WorkerRequestError(reply["error"])

    def _request(self, address: str, method: str, path: str, payload: bytes | None) -> tuple[int, bytes]:
        """One request on this thread's keep-alive connection to `address`; `_Refused` if it did not get through."""
        connections: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("connections", {})
        for attempt in range(2):  # a kept-alive connection the server closed fails once, harmlessly: reads
            connection = connections.get(address)
            if connection is None:
                host, port = address.rsplit(":", 1)
                connection = connections[address] = http.client.HTTPConnection(host, int(port), SOCKET_TIMEOUT_S)
                with self._opened_lock:
                    self._opened.append(connection)
            try:
                connection.request(method, path, body=payload, headers={"Content-Type": MSGPACK})
                response = connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                del connections[address]
                with self._opened_lock:
                    self._opened.remove(connection)
                if attempt == 1 or isinstance(exc, ConnectionRefusedError):
                    raise _Refused from exc
        raise AssertionError("unreachable")


class _Refused(Exception):
    """A read that did not get an answer from the task's owner: ask again, maybe elsewhere."""


def _blocks_a_loop() -> bool:
    """Whether this thread runs an event loop (that a blocking read holds up)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass(slots=True)
class _HoldOff:
    """A task that did not answer a read under routing `version`: fail its reads at once until `until`."""

    version: int
    until: float
    next_probe: float  # monotonic time of the next single-request attempt
