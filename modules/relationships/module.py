"""The relationships module: Mastodon's social graph and the per-account rules that hang off it.

Names (stable: storage is keyed by them). Record shapes are in `records` (and `filter_records`), write
paths in `graph` and one file per feature, reads in `queries` and the feature files.

    depots     *follows (also endorsements, lists and imports: `imports`)  *account_settings  *blocks  *mutes  *notes
               *suggestions  *followed_tags  *filters
               *follow_events (internal: appended by `graph` on the followee's task; see `events`)
    stream     graph    *follows *account_settings *blocks *mutes *notes *suggestions
                        (one topology: an unfollow or block and the endorsements, list members and
                        suggestions that depend on the follow change in one order, in one commit)
               tags     *followed_tags
               filters  *filters
    PStates    graph    $$following            follower -> followee -> options {"reblogs", "notify", "languages"}
                        $$requested            follower -> followee -> options   (outgoing pending requests)
                        $$followers            followee -> follower -> task of the follower's bucket
                        $$follow_requests      followee -> follower -> options   (incoming pending requests)
                        $$follower_buckets     followee -> [[task, salt, count], ...]
                        $$notify_followers     followee -> sorted set of followers whose follow has notify on
                                               (notifications' `status` type; kept by accept / forget_follower)
                        $$partitioned_followers (followee, salt) -> follower -> options   (bucket's task)
                        $$settings             account -> {"locked": bool}
                        $$blocking / $$blocked_by  account -> sorted set of accounts
                        $$muting               muter -> muted -> {"notifications": bool, "expires_at": ms | None}
                        $$notes                author -> target -> comment
                        $$endorsements         account -> sorted set of endorsed accounts
                        $$lists                owner -> list_id -> {"id", "title", "replies_policy", "exclusive"}
                        $$list_uuids           owner -> client uuid -> list_id
                        $$list_members         owner -> sorted set of (list_id, member)
                        $$lists_by_member      owner -> sorted set of (member, list_id)
                        $$list_memberships     member -> (owner, list_id) -> {"replies_policy", "exclusive"}
                        $$id_clock             per-task id clock of lists
                        $$dismissed_suggestions account -> sorted set of accounts
                        $$popular              per-task key -> sorted set of (follower level, account)
               tags     $$followed_tags        account -> tag -> followed-at ms
                        $$tag_followers        tag -> sorted set of accounts
               filters  $$filters  $$filter_keywords  $$filter_statuses  $$filter_uuids  $$filter_id_clock
    queries    relationship relationships hidden_accounts counts followers following follow_requests blocks
               mutes endorsements follower_buckets bucket_followers followers_on_task
               lists list list_members lists_with_member member_lists
               followed_tags follows_tag tag_followers
               filters filter filter_keyword filter_status
               suggestions dismissed_suggestions popular (all tasks)
"""

from __future__ import annotations

from depots.declaration import hash_by, internal
from modules.relationships import endorsements, events, filters, graph, imports, lists, queries, suggestions, tags
from modules.relationships.records import field_of, follows_actor
from pstates.schema import Map, SortedMap, SortedSet
from topology.module import Module, ModuleBuilder, all_tasks, by_key

OPTIONS_MAP = SortedMap(int, dict)
ID_CLOCK = Map((str, int), int)


class Relationships(Module):
    """Follows, requests, blocks, mutes, notes, endorsements, lists, followed tags, filters, suggestions."""

    name = "relationships"

    def define(self, m: ModuleBuilder) -> None:
        """Declare the depots, the `graph`, `tags` and `filters` stream topologies and the queries."""
        m.depot("*follows", hash_by(follows_actor))
        m.depot("*account_settings", hash_by(field_of("account")))
        m.depot("*blocks", hash_by(field_of("blocker")))
        m.depot("*mutes", hash_by(field_of("muter")))
        m.depot("*notes", hash_by(field_of("author")))
        m.depot("*suggestions", hash_by(field_of("account")))
        m.depot("*followed_tags", hash_by(field_of("account")))
        m.depot("*filters", hash_by(field_of("account")))
        m.depot("*follow_events", internal(events.partition_key))
        self._define_graph(m)
        self._define_tags(m)
        self._define_filters(m)
        self._define_queries(m)

    def _define_graph(self, m: ModuleBuilder) -> None:
        topology = m.stream("graph")
        for name in ("$$following", "$$requested", "$$follow_requests", "$$muting"):
            topology.pstate(name, Map(int, OPTIONS_MAP))
        topology.pstate("$$followers", Map(int, SortedMap(int, int)))
        topology.pstate("$$follower_buckets", Map(int, list))
        # Read a whole page per status by fanout, written once per follow: decoded pages cached by the engine.
        topology.pstate("$$partitioned_followers", Map((int, int), OPTIONS_MAP), page_cache=True)
        topology.pstate("$$settings", Map(int, dict))
        for name in (
            "$$blocking",
            "$$blocked_by",
            "$$notify_followers",
            endorsements.ENDORSEMENTS,
            suggestions.DISMISSED,
        ):
            topology.pstate(name, Map(int, SortedSet(int)))
        topology.pstate("$$notes", Map(int, SortedMap(int, str)))
        topology.pstate(lists.LISTS, Map(int, SortedMap(int, dict)))
        topology.pstate(lists.LIST_UUIDS, Map(int, SortedMap(str, int)))
        topology.pstate(lists.LIST_MEMBERS, Map(int, SortedSet((int, int))))
        topology.pstate(lists.LISTS_BY_MEMBER, Map(int, SortedSet((int, int))))
        topology.pstate(lists.LIST_MEMBERSHIPS, Map(int, SortedMap((int, int), dict)))
        topology.pstate(lists.ID_CLOCK, ID_CLOCK)
        topology.pstate(suggestions.POPULAR, Map((str, int), SortedSet((int, int))))
        topology.source("*follows", imports.on_follows)
        topology.source("*account_settings", graph.on_settings)
        topology.source("*blocks", graph.on_blocks)
        topology.source("*mutes", graph.on_mutes)
        topology.source("*notes", graph.on_notes)
        topology.source("*suggestions", suggestions.on_suggestions)
        for step in graph.STEPS:  # each first lets the follows imports left pending land (see `imports`)
            topology.step(imports.after_pending(step), step.__name__)
        for import_step in imports.STEPS:
            topology.step(import_step)

    def _define_tags(self, m: ModuleBuilder) -> None:
        topology = m.stream("tags")
        topology.pstate(tags.FOLLOWED_TAGS, Map(int, SortedMap(str, int)))
        topology.pstate(tags.TAG_FOLLOWERS, Map(str, SortedSet(int)))
        topology.source("*followed_tags", tags.on_followed_tags)
        for step in tags.STEPS:
            topology.step(step)

    def _define_filters(self, m: ModuleBuilder) -> None:
        topology = m.stream("filters")
        for name in (filters.FILTERS, filters.FILTER_KEYWORDS, filters.FILTER_STATUSES):
            topology.pstate(name, Map(int, SortedMap(int, dict)))
        topology.pstate(filters.FILTER_UUIDS, Map(int, SortedMap(str, int)))
        topology.pstate(filters.FILTER_ID_CLOCK, ID_CLOCK)
        topology.source("*filters", filters.on_filters)

    def _define_queries(self, m: ModuleBuilder) -> None:
        for fn in (
            queries.relationship,
            queries.relationships,
            queries.hidden_accounts,
            queries.counts,
            queries.followers,
            queries.following,
            queries.follow_requests,
            queries.blocks,
            queries.mutes,
            queries.endorsements,
            queries.follower_buckets,
            queries.bucket_followers,
            lists.lists,
            lists.list_members,
            lists.lists_with_member,
            lists.member_lists,
            tags.followed_tags,
            tags.follows_tag,
            tags.tag_followers,
            filters.filters,
            filters.filter_keyword,
            filters.filter_status,
            suggestions.suggestions,
        ):
            m.query(fn.__name__, fn, route=by_key())
        m.query("list", lists.get_list, route=by_key())
        m.query("filter", filters.get_filter, route=by_key())
        m.query("dismissed_suggestions", suggestions.dismissed, route=by_key())
        m.query("followers_on_task", queries.followers_on_task, route=all_tasks(queries.concatenate))
        m.query("popular", suggestions.popular, route=all_tasks(suggestions.merge_popular))
