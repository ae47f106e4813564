"""The search module: accounts and hashtags by prefix, statuses with Mastodon's semantics, the directory.

    sources    core's *accounts, *statuses_with_id and *interactions (mirrors; `interactions=False` leaves
               the last out)
    topology   search (microbatch)   indexing.py: steps index_profile, index_name, index_words, index_tag;
                                     interactions.py: step index_interaction
    PStates    $$profiles          account -> {"username", "display_name", "created_at", "last_status_at",
                                   "domain"?}                                    on the account's task
               $$names             "word\\x1faccount" -> "username" | "display_name"   prefix-scannable
               $$tags              tag -> last use (ms)                          on the tag's task
               $$status_words      account -> (word, status id) -> True          what the account may search
               $$interaction_words account -> status id -> {"reasons", "words"}  favourited / bookmarked ones
               $$directory_new     ("directory", salt) -> account id -> {"local"}          one key per task
               $$directory_active  ("directory", salt) -> (last status ms, account) -> {"local"}
    queries    accounts(q, viewer, limit, offset)  over names_here (every task)
               hashtags(q, limit, offset)          over tags_here (every task)
               statuses(account, q, limit, offset) routed by account, drops deleted statuses via core
               directory(order, local, limit, offset) over directory_here (every task)

Statuses follow Mastodon: full-text search only within what the searcher may search, so words are indexed
per account: for the author and each mentioned account on create, and for the account that favourites or
bookmarks until it takes that back (from core's `*interactions`, `interactions.py`). Words are exact
(casefolded); names and hashtags match by prefix. Hashtag usage counts are the trends module's (`tag`
query). Launch relationships and core first (accounts search reads relationships' `$$following` to put
followed accounts first).
"""

from __future__ import annotations

from modules.search import indexing, interactions, queries
from pstates.schema import Map, SortedMap
from topology.module import Module, ModuleBuilder, all_tasks, by_key


class Search(Module):
    """Prefix indexes of names and hashtags, per-account status words, the profile directory."""

    name = "search"

    def __init__(self, interactions: bool = True) -> None:
        self.interactions = interactions

    def define(self, m: ModuleBuilder) -> None:
        """Declare the indexing microbatch over core's depots and the search queries."""
        topology = m.microbatch("search")
        topology.pstate("$$profiles", Map(int, dict))
        topology.pstate("$$names", Map(str, str))
        topology.pstate("$$tags", Map(str, int))
        topology.pstate("$$status_words", Map(int, SortedMap((str, int), bool)))
        topology.pstate("$$directory_new", Map((str, int), SortedMap(int, dict)))
        topology.pstate("$$directory_active", Map((str, int), SortedMap((int, int), dict)))
        topology.pstate("$$interaction_words", Map(int, SortedMap(int, dict)))
        topology.source("*accounts", indexing.on_accounts, module="core")
        topology.source("*statuses_with_id", indexing.on_statuses, module="core")
        if self.interactions:
            topology.source("*interactions", interactions.on_interactions, module="core")
        for step in (indexing.index_profile, indexing.index_name, indexing.index_words, indexing.index_tag):
            topology.step(step)
        topology.step(interactions.index_interaction)
        self._define_queries(m)

    def _define_queries(self, m: ModuleBuilder) -> None:
        m.query("accounts", queries.accounts, route=by_key())
        m.query("hashtags", queries.hashtags, route=by_key())
        m.query("statuses", queries.statuses, route=by_key())
        m.query("directory", queries.directory, route=by_key())
        for name, fn in (
            ("names_here", queries.names_here),
            ("tags_here", queries.tags_here),
            ("directory_here", queries.directory_here),
        ):
            m.query(name, fn, route=all_tasks(queries.concat))
