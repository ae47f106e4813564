"""The trends module: hashtag timelines, trending tags / links / statuses, tag history, featured tags.

    depots     *featured_tags    {"op": "feature" | "unfeature", "account": id, "tag": name}, by account
    sources    core's *statuses_with_id and *interactions (mirrors; `interactions=False` leaves the latter out)
    topologies trends (microbatch)        counting.py: steps by_author, count, tag_status, count_favourite
                 $$status_marks   author -> status id -> {"tags", "links", "boost_of", "public", "deleted"?}
                 $$tag_statuses   tag -> status id -> {"local"}            hashtag timelines (public only)
                 $$hours          (kind, key) -> hour index -> {"uses", "accounts": sketch}
                 $$days           (kind, key) -> day index -> {"uses", "accounts": sketch}
                 $$recent         (kind, salt) -> (hour index, key) -> True   one key per task: what to score
                 $$account_tags   account -> tag -> {"statuses_count", "last_status_at"}
                 $$counted_favourites ("status", id) -> favourite ids counted (a repeated event counts once)
               featured_tags (stream)   featured.py
                 $$featured_tags  account -> tag -> {"name", "created_at"}
    queries    tag_timeline(tag, max_id, since_id, min_id, limit, local)   tag(name)   usage((kind, key))
               trending(kind, limit, offset) over trending_here(kind) (every task)
               featured_tags(account)   suggested_tags(account, limit)

Kinds: "tag" (normalized hashtag), "link" (normalized URL), "status" (a status id as a string; boosts, and
favourites from `*interactions` unless `interactions=False`). Sketches (`sketch.py`) count distinct
accounts, exactly while small. Scores (`scoring.py`) follow Mastodon's Trends::Tags with the query clock.
Launch relationships and core first.
"""

from __future__ import annotations

from depots.declaration import hash_by
from modules.trends import counting, queries
from modules.trends.featured import DEFAULT_LIMIT, FeaturedTags, featured_key
from modules.trends.scoring import TrendOptions
from pstates.schema import Map, SortedMap, SortedSet
from topology.module import Module, ModuleBuilder, all_tasks, by_key


class Trends(Module):
    """Hashtag timelines, bucketed counts and trend scores, featured tags."""

    name = "trends"

    def __init__(
        self, options: TrendOptions | None = None, featured_limit: int = DEFAULT_LIMIT, interactions: bool = True
    ) -> None:
        self.options = options or TrendOptions()
        self.featured = FeaturedTags(featured_limit)
        self.interactions = interactions

    def define(self, m: ModuleBuilder) -> None:
        """Declare the featured tags depot, the two topologies and the queries."""
        m.depot("*featured_tags", hash_by(featured_key))
        self._define_counting(m)
        featured = m.stream("featured_tags")
        featured.pstate("$$featured_tags", Map(int, SortedMap(str, dict)))
        featured.source("*featured_tags", self.featured.on_record)
        self._define_queries(m)

    def _define_counting(self, m: ModuleBuilder) -> None:
        topology = m.microbatch("trends")
        topology.pstate("$$status_marks", Map(int, SortedMap(int, dict)))
        topology.pstate("$$tag_statuses", Map(str, SortedMap(int, dict)))
        topology.pstate("$$hours", Map((str, str), SortedMap(int, dict)))
        topology.pstate("$$days", Map((str, str), SortedMap(int, dict)))
        topology.pstate("$$recent", Map((str, int), SortedMap((int, str), bool)))
        topology.pstate("$$account_tags", Map(int, SortedMap(str, dict)))
        topology.source("*statuses_with_id", counting.on_statuses, module="core")
        topology.pstate("$$counted_favourites", Map((str, str), SortedSet(int)))
        if self.interactions:
            topology.source("*interactions", counting.on_interactions, module="core")
        for step in (counting.by_author, counting.count, counting.tag_status, counting.count_favourite):
            topology.step(step)

    def _define_queries(self, m: ModuleBuilder) -> None:
        for fn in (
            queries.tag_timeline,
            queries.tag,
            queries.usage,
            queries.trending,
            queries.featured_tags,
            queries.suggested_tags,
        ):
            m.query(fn.__name__, fn, route=by_key())
        m.query("trending_here", queries.TrendingHere(self.options), route=all_tasks(queries.concat))
