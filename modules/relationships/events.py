"""Follow events: what other modules (notifications, streaming) learn about changes to the follow graph.

The graph topology appends one record to the internal depot `*follow_events` on the **followee's** task
when a fact takes effect (shapes in `records`). Each emitter is called only after reading the state it
changes, so a record that is retried or replayed onto a state that already holds its effect emits
nothing. Depot appends themselves are at-least-once (an attempt that fails after appending is re-run),
so a consumer should treat `(op, follower, followee)` as idempotent, as notifications do.
"""

from __future__ import annotations

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
