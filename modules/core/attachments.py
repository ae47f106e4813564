"""What a new status brings besides its text: its place in a thread, its media, its poll.

Called from the create path on the author's task once every check has passed. `$$status_state`
(`edits`) starts here for a status with media, so a delete can give the media back.
"""

from __future__ import annotations

from typing import Any

from modules.core import media, polls, threads
from modules.core.records import Record
from topology.context import StreamContext, TopologyContext


def store(ctx: StreamContext, status: dict[str, Any], poll: Record | None) -> None:
    """Index the reply under its parent, attach the media, open the poll."""
    author, status_id = status["author"], status["id"]
    threads.link_reply(ctx, status)
    if status["media"]:
        media.attach(ctx, author, status_id, status["media"])
        ctx.pstate("$$status_state").put(author, status_id, {"revision": 0, "media": status["media"]})
    if poll is not None:
        ctx.hop(status_id, "store_poll", polls.poll_payload(status_id, author, poll, ctx.time_ms, 0))


def release(ctx: TopologyContext, author: int, status_id: int) -> None:
    """Detach a deleted status' media so a redraft can use them again."""
    state = ctx.pstate("$$status_state").get(author, status_id)
    if state is not None:
        media.attach(ctx, author, None, state["media"])
        ctx.pstate("$$status_state").remove(author, status_id)
