"""The relationships module: who follows, requests, blocks and mutes whom, and partitioned followers.

Names (stable: storage is keyed by them); record shapes are in `records`, write paths in `graph`, reads
in `queries`, follower buckets in `buckets`.

    depots     *follows  *account_settings  *blocks  *mutes  *notes
    stream     graph (all of the above; one topology so records of every depot apply one at a time)
    PStates    $$following            follower -> followee -> options {"reblogs", "notify", "languages"}
               $$requested            follower -> followee -> options   (outgoing pending requests)
               $$followers            followee -> follower -> task of the follower's bucket
               $$follow_requests      followee -> follower -> options   (incoming pending requests)
               $$follower_buckets     followee -> [[task, salt, count], ...]
               $$partitioned_followers (followee, salt) -> follower -> options   (on the bucket's task)
               $$settings             account -> {"locked": bool}
               $$blocking / $$blocked_by  account -> sorted set of accounts
               $$muting               muter -> muted -> {"notifications": bool, "expires_at": ms | None}
               $$notes                author -> target -> comment
    queries    relationship relationships counts followers following follow_requests blocks mutes
               follower_buckets bucket_followers followers_on_task
"""

from __future__ import annotations

from depots.declaration import hash_by
from modules.relationships import graph, queries
from modules.relationships.records import field_of, follows_actor
from pstates.schema import Map, SortedMap, SortedSet
from topology.module import Module, ModuleBuilder, all_tasks, by_key

OPTIONS_MAP = SortedMap(int, dict)


class Relationships(Module):
    """Follows (with requests for locked accounts), blocks, mutes, notes and partitioned followers."""

    name = "relationships"

    def define(self, m: ModuleBuilder) -> None:
        """Declare the depots, the `graph` stream topology and the queries."""
        m.depot("*follows", hash_by(follows_actor))
        m.depot("*account_settings", hash_by(field_of("account")))
        m.depot("*blocks", hash_by(field_of("blocker")))
        m.depot("*mutes", hash_by(field_of("muter")))
        m.depot("*notes", hash_by(field_of("author")))
        self._define_graph(m)
        self._define_queries(m)

    def _define_graph(self, m: ModuleBuilder) -> None:
        topology = m.stream("graph")
        for name in ("$$following", "$$requested", "$$follow_requests", "$$muting"):
            topology.pstate(name, Map(int, OPTIONS_MAP))
        topology.pstate("$$followers", Map(int, SortedMap(int, int)))
        topology.pstate("$$follower_buckets", Map(int, list))
        topology.pstate("$$partitioned_followers", Map((int, int), OPTIONS_MAP))
        topology.pstate("$$settings", Map(int, dict))
        topology.pstate("$$blocking", Map(int, SortedSet(int)))
        topology.pstate("$$blocked_by", Map(int, SortedSet(int)))
        topology.pstate("$$notes", Map(int, SortedMap(int, str)))
        topology.source("*follows", graph.on_follows)
        topology.source("*account_settings", graph.on_settings)
        topology.source("*blocks", graph.on_blocks)
        topology.source("*mutes", graph.on_mutes)
        topology.source("*notes", graph.on_notes)
        for step in graph.STEPS:
            topology.step(step)

    def _define_queries(self, m: ModuleBuilder) -> None:
        for fn in (
            queries.relationship,
            queries.relationships,
            queries.counts,
            queries.followers,
            queries.following,
            queries.follow_requests,
            queries.blocks,
            queries.mutes,
            queries.follower_buckets,
            queries.bucket_followers,
        ):
            m.query(fn.__name__, fn, route=by_key())
        m.query("followers_on_task", queries.followers_on_task, route=all_tasks(queries.concatenate))
