"""List timelines in memory: per list the newest status ids of its members, like home timelines.

The task global `list_timelines` of a task holds the timelines of the lists whose ids that task owns (a
list's id, not its owner, decides: an owner's lists spread over tasks). Each is a ring of `cap` ids in
the same structure as home timelines (`timelines.HomeTimelines`, keyed by list id instead of account),
filled by fanout (`deliver_lists`) and deduplicated the same way.

Nothing here is durable. On its first read in a process a list timeline is rebuilt: its members' recent
statuses (`author_deliveries`) that reach it (`delivery.reaches_list`, the rule fanout uses) are merged
with whatever fanout delivered since the process started. A member removed from a list (or unfollowed)
keeps their already delivered statuses in it until a restart or until newer ones push them out, as home
timelines keep an unfollowed account's; a deleted list's ring stays in memory, unread, until a restart.

The query `list_timeline(owner, list_id, ...)` is routed by the list id (its second argument), checks the
list belongs to `owner` (relationships' `$$lists`, a routed read), and pages like `home_timeline`, for
the owner: deleted statuses, repeated boosts, and blocked or muted accounts left out.
"""

from __future__ import annotations

from typing import Any

from modules.core.delivery import reaches_list
from modules.core.list_delivery import LIST_MEMBERS, list_members
from modules.core.queries import DEFAULT_PAGE, visible_page
from modules.core.timelines import DEFAULT_CAP, HomeTimelines
from topology.context import QueryContext, ReadContext


class ListTimelines(HomeTimelines):
    """The list timelines of one task's lists: one ring of `cap` ids per list id, rebuilt on first read."""

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        super().__init__(cap)
        self._lists: dict[int, dict[str, Any]] = {}  # list id -> {"owner", "replies_policy"}: for rebuilds

    def remember(self, owner: int, found: dict[str, Any]) -> None:
        """Note the owner and replies policy of list `found` (read by the query before paging)."""
        self._lists[int(found["id"])] = {"owner": owner, "replies_policy": found["replies_policy"]}

    def rebuild(self, ctx: ReadContext, list_id: int) -> None:
        """Merge the recent statuses of the list's members that reach it into its timeline."""
        settings = self._lists.get(list_id)
        if settings is None:
            return  # never remembered: `list_timeline` always is before it pages
        owner, policy = settings["owner"], settings["replies_policy"]
        following = ctx.pstate("$$following", module="relationships")
        members = ctx.pstate(LIST_MEMBERS, module="relationships")

        def follows(a: int, b: int) -> bool:
            return bool(following.contains(a, b))

        def in_list(account: int) -> bool:
            return bool(members.contains(owner, (list_id, account)))

        for member in list_members(ctx, owner, list_id):
            options = following.get(owner, member)
            rows = ctx.query("core", "author_deliveries", member, self.cap) if options is not None else []
            reached = [d["id"] for d in rows if reaches_list(d, owner, options, policy, follows, in_list)]
            self.deliver_ids(list_id, reached)
        self._loaded.add(list_id)


def list_timeline(
    ctx: QueryContext,
    owner: int,
    list_id: int,
    max_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    since_id: int | None = None,
    min_id: int | None = None,
    now_ms: int | None = None,
) -> list[int] | None:
    """Return a page of `owner`'s list `list_id`, newest first, or None if `owner` has no such list."""
    found = ctx.pstate("$$lists", module="relationships").get(owner, list_id)
    if found is None:
        return None
    timelines: ListTimelines = ctx.task_global("list_timelines")
    timelines.remember(owner, found)
    return visible_page(ctx, timelines, list_id, owner, max_id, limit, since_id, min_id, now_ms)
