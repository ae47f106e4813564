"""Home deliveries gathered during one fanout step, sent as one hop per owning task.

A step that delivers to home timelines (a batch of new statuses on their authors' tasks, the follower
buckets of a batch on a bucket's task, a tag's followers) adds `(status id, recipients)` to an `Outbox`
and flushes it once before it returns: the recipients of every status are concatenated, their owning
tasks computed for the whole array at once (`partitions_of_ints`), and each owning task gets one
`deliver_batch` hop for all of them:

    {"statuses": [status id, ...], "sizes": [recipients of each on that task, ...], "accounts": bytes}

`accounts` is the recipients' array as little-endian int64 bytes (a hop may cross machines), `sizes[i]`
consecutive accounts per status, statuses with none on that task left out. So a
step costs a hop per owning task, not per status and task, and no Python work per recipient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pstates.keycodec import partition_of
from pstates.partitions import partitions_of_ints
from topology.context import TopologyContext

STEP = "deliver_batch"
WIRE = np.dtype("<i8")
FEW = 32  # up to this many accounts, owners are computed one by one (measured: cheaper than ~15 numpy calls)


class Outbox:
    """`(status id, recipients)` pairs of one step on one task, until `flush` hops them to their owners."""

    def __init__(self) -> None:
        self._statuses: list[int] = []
        self._recipients: list[np.ndarray] = []

    def add(self, status_id: int, recipients: np.ndarray | list[int]) -> None:
        """Deliver `status_id` to `recipients` (account ids) when the outbox is flushed."""
        accounts = np.asarray(recipients, dtype=np.int64)
        if accounts.size:
            self._statuses.append(status_id)
            self._recipients.append(accounts)

    def flush(self, ctx: TopologyContext) -> None:
        """Hop everything added so far to the tasks owning the recipients, one hop per task; then empty."""
        if not self._statuses:
            return
        for task, payload in batches(self._statuses, self._recipients, ctx.tasks):
            ctx.hop_to_task(task, STEP, payload)
        self._statuses, self._recipients = [], []


def batches(statuses: list[int], recipients: list[np.ndarray], tasks: int) -> list[tuple[int, dict[str, Any]]]:
    """Return `(task, deliver_batch payload)` for every task owning some of the recipients, in task order."""
    sizes = np.fromiter((r.size for r in recipients), dtype=np.int64, count=len(recipients))
    accounts = np.concatenate(recipients)
    owners = owners_of(accounts, tasks)
    status_index = np.repeat(np.arange(len(statuses), dtype=np.int64), sizes)
    group = owners * len(statuses) + status_index
    # The accounts are in status order already: a stable sort by owner alone orders them by (task, status),
    # and on a one- or two-byte key numpy's stable sort is a radix sort (measured ~2x the int64 sort's speed).
    key = owners.astype(np.uint8 if tasks <= 256 else np.uint16) if tasks <= 65_536 else group
    order = np.argsort(key, kind="stable")
    accounts = accounts[order]
    per_task = np.bincount(group, minlength=tasks * len(statuses)).reshape(tasks, len(statuses))
    ends = np.cumsum(per_task.sum(axis=1))
    out: list[tuple[int, dict[str, Any]]] = []
    start = 0
    for task in range(tasks):
        end = int(ends[task])
        if end > start:
            counts = per_task[task]
            present = np.flatnonzero(counts)
            payload = {
                "statuses": [statuses[i] for i in present.tolist()],
                "sizes": counts[present].tolist(),
                "accounts": accounts[start:end].astype(WIRE, copy=False).tobytes(),
            }
            out.append((task, payload))
        start = end
    return out


def owners_of(accounts: np.ndarray, tasks: int) -> np.ndarray:
    """Return the task owning each account: vectorized, but one call each for a few (numpy's fixed cost)."""
    if accounts.size > FEW:
        return partitions_of_ints(accounts, tasks)
    return np.fromiter((partition_of(a, tasks) for a in accounts.tolist()), dtype=np.int64, count=accounts.size)


def unpack(payload: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return a `deliver_batch` payload as `(status id per account, accounts)` int64 arrays."""
    accounts = np.frombuffer(payload["accounts"], dtype=WIRE).astype(np.int64, copy=False)
    sids = np.repeat(np.array(payload["statuses"], dtype=np.int64), payload["sizes"])
    return sids, accounts
