"""Follow events: what other modules (notifications, streaming) learn about changes to the follow graph.

The graph topology appends records to the internal depot `*follow_events` on the **followee's** task
when a fact takes effect (shapes in `records`). A change to one pair is one record; the follows an import
accepts on one task are one record naming all of their followees (all owned by that task, so the record
sits in the partition of each of them): `expand` turns either shape into one event per pair.

Each emitter is called only after reading the state it changes, so a record that is retried or replayed
onto a state that already holds its effect emits nothing. Depot appends themselves are at-least-once (an
attempt that fails after appending is re-run), so a consumer should treat `(op, follower, followee)` as
idempotent, as notifications do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from topology.context import TopologyContext

FOLLOW_EVENTS = "*follow_events"

FOLLOWED = "followed"  # an immediate follow, or a request authorized (also by unlocking)
REQUESTED = "requested"  # a new pending request to a locked account
UNFOLLOWED = "unfollowed"  # an existing follow ended: unfollow, remove_follower or a block
REQUEST_WITHDRAWN = "request_withdrawn"  # a pending request ended by its sender (or by a block)
REJECTED = "rejected"  # a pending request refused by the followee

EVENT_OPS = frozenset({FOLLOWED, REQUESTED, UNFOLLOWED, REQUEST_WITHDRAWN, REJECTED})


def emit(ctx: TopologyContext, op: str, follower: int, followee: int) -> None:
    """Append a follow event (call on the followee's task, after checking the change is effective)."""
    ctx.append(FOLLOW_EVENTS, {"op": op, "follower": follower, "followee": followee})


def emit_followed(ctx: TopologyContext, follower: int, followees: list[int]) -> None:
    """Append one `followed` event for new follows of `follower` to `followees`, all owned by this task."""
    if len(followees) == 1:
        emit(ctx, FOLLOWED, follower, followees[0])
    elif followees:
        ctx.append(FOLLOW_EVENTS, {"op": FOLLOWED, "follower": follower, "followees": followees})


def partition_key(record: Any) -> object:
    """Return the account an event record is partitioned by: its followee (the first, if it names several)."""
    followee = record.get("followee")
    return record["followees"][0] if followee is None else followee


def expand(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield `{"op", "follower", "followee"}` for each pair an event record names."""
    if "followees" not in record:
        yield record
        return
    op, follower = record["op"], record["follower"]
    for followee in record["followees"]:
        yield {"op": op, "follower": follower, "followee": followee}
