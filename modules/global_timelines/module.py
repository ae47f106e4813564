"""The global_timelines module: the local and federated public timelines.

    sources    core's *statuses_with_id   (mirror; launch relationships and core first)
    topology   public_timelines (microbatch)  timelines.PublicTimelines
    PState     $$public_statuses   (scope, salt) -> status id -> {"author", "reply", "media", "language"}
                                   | {"deleted": True}; scope "local" or "remote", one key per task
                                   (`ids.task_key`), the newest `cap` ids each
    queries    public_timeline(scope, max_id, since_id, min_id, limit, only_media, with_replies)
                                   routed by scope, merges `public_here` (every task)

What goes in: `create` records of public statuses that are not boosts (`reblog_of` None). A `delete`
tombstones the entry; other ops (edits) are ignored. Replies to someone else are kept but filtered out
unless `with_replies` (Mastodon's PublicFeed). Federation contract: a Delivery of a remote account's
status carries `"domain": str` (absent or None for local ones) and goes to the `remote` timeline; a
Delivery with attachments carries `"media": True` (read by `only_media`). The timelines hold ids only;
callers hydrate with core's `statuses` query, which also drops deleted ones.
"""

from __future__ import annotations

from modules.global_timelines import queries
from modules.global_timelines.timelines import TIMELINES, PublicTimelines
from pstates.schema import Map, SortedMap
from topology.module import Module, ModuleBuilder, all_tasks, by_key

DEFAULT_CAP = 2_500  # per timeline per task: 10,000 federated ids on 4 tasks


class GlobalTimelines(Module):
    """Public timelines as per-task capped parts merged at read time: bounded writes per microbatch."""

    name = "global_timelines"

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        self.timelines = PublicTimelines(cap)

    def define(self, m: ModuleBuilder) -> None:
        """Declare the microbatch over core's statuses and the paging queries."""
        topology = m.microbatch("public_timelines")
        topology.pstate(TIMELINES, Map((str, int), SortedMap(int, dict)))
        topology.source("*statuses_with_id", self.timelines.on_statuses, module="core")
        m.query("public_timeline", queries.public_timeline, route=by_key())
        m.query("public_here", queries.public_here, route=all_tasks(queries.concat))
