"""Fencing a zombie worker: writes are allowed only while this worker's group membership is surely current.

A worker paused past its session timeout (SIGSTOP, a long GC or swap stall, a frozen VM) is dropped by the
group coordinator, and its tasks move to another worker. When it wakes, it does not know yet: its event loop
may run a topology round, flush queued appends or commit before the next heartbeat tells it to rejoin. With
separate data directories (`--changelog`) no RocksDB lock stands between the two owners, and a zombie's
produce would land in a partition the new owner now produces to (the offset check then fails *both* logs).

So each worker holds a `Lease`: renewed by every heartbeat, join and sync the coordinator answers as from a
member, with the time the request was *sent* (the coordinator counts the session from when it *received* the
last heartbeat, so the lease ends no later than the coordinator could drop us), minus a small margin. Every
depot log the worker opens (depots, hop topics, changelogs) checks it before taking an append and before
producing a group (`GroupCommitLog.fence`); an expired lease refuses with `FencedError` (an append: nothing
queued, the client retries elsewhere; a queued group: it fails as "maybe appended", `LogFailedError`, never as
"not owner", and stops its log). The worker then drops every
task (`Membership`'s watchdog reports an empty assignment), and reopens, from the changelog, whatever the next
assignment gives it; if a heartbeat of the same generation renews the lease, the same tasks come back.

What remains: a pause that starts after the check and before the produce request leaves the socket (inside one
event-loop step of the producer) still lands that one request late; the changelog's `prev` chain skips such a
record on restore and the depot log's offset check reports the collision (`PartitionOwnershipError`), never a
silent wrong state. Clock rates are assumed equal on both sides (monotonic clocks keep running while stopped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cluster.workers.task_host import NotOwnedError

log = logging.getLogger(__name__)

MARGIN = 0.1  # of the session timeout: slack for clock rate differences and the sync's own round trip
REBALANCE_IN_PROGRESS = 27  # a heartbeat answered so still counts us as a member (a dropped one: UNKNOWN_MEMBER_ID)
# Requests whose answer means the coordinator counts us as a member, by the error codes that mean it.
RENEWING = {"Heartbeat": (0, REBALANCE_IN_PROGRESS), "JoinGroup": (0,), "SyncGroup": (0,)}


class FencedError(NotOwnedError):
    """This worker's lease expired: it may no longer own its tasks, so it writes nothing (retry elsewhere)."""


class Lease:
    """How long this worker may still act as a member of the group (see the module docstring)."""

    def __init__(self, session_timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.length = session_timeout_s * (1 - MARGIN)
        self.valid_until = float("-inf")  # nothing owned before the first sync
        self.expired_count = 0  # times `check` refused
        self._clock = clock

    def renew(self, sent_at: float) -> None:
        """A request sent at `sent_at` succeeded: we are a member until `sent_at + length` at least."""
        self.valid_until = max(self.valid_until, sent_at + self.length)

    def valid(self) -> bool:
        """Whether the lease still holds now."""
        return self._clock() < self.valid_until

    def check(self) -> None:
        """Raise `FencedError` unless the lease still holds (called before every write of the worker)."""
        if not self.valid():
            self.expired_count += 1
            late = self._clock() - self.valid_until
            raise FencedError(f"this worker's group lease expired {late:.2f} s ago: it may have lost its tasks")


def renew_on_group_success(coordinator: Any, lease: Lease, clock: Callable[[], float] = time.monotonic) -> None:
    """Wrap aiokafka's coordinator requests so each successful heartbeat or sync renews `lease`."""
    send: Callable[[Any], Awaitable[Any]] = coordinator._send_req

    async def sending(request: Any) -> Any:
        sent_at = clock()
        response = await send(request)
        kind = type(request).__name__
        codes = next((codes for name, codes in RENEWING.items() if kind.startswith(name)), ())
        if getattr(response, "error_code", -1) in codes:
            lease.renew(sent_at)
        return response

    coordinator._send_req = sending
