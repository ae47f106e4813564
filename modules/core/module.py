"""The core module: accounts, statuses and what they carry, boosts, favourites and the like, fanout, hydration.

    depots     *accounts           register / update (records.py), by lower-cased username or account id
               *statuses           create / delete / edit / schedule / reschedule / cancel_scheduled, by author
               *reblogs            reblog / unreblog (boosts.py), by account
               *favourites *bookmarks *pins *conversation_mutes   (interactions.py), by account
               *media              media metadata create / update, by account
               *poll_votes         vote, by poll (its status id)
               *conversations      direct conversations: read / remove, by account
               *statuses_with_id   internal: created / updated / deleted statuses, appended on the author's task
               *interactions       internal: favourited / unfavourited / reblogged / unreblogged events on
                                   the status' task, bookmarked / unbookmarked on the account's
                                   (notifications, trends and search consume it)
               *poll_events        internal: poll_expired, appended on the poll's task
               *fanout_tick        tick depot: keeps throttled fanouts moving
               *content_tick       tick depot (every `content_tick_ms`): scheduled publication, poll expiry
    topologies accounts (stream)   $$accounts, $$account_by_username, $$account_by_uuid, $$id_clock
                                   (step store_account)
               statuses (stream)   $$statuses, $$status_by_uuid, $$author_statuses, $$status_id_clock,
                                   boosts: $$boost_of, $$reblogged_by; status_effects: $$counted_replies,
                                   $$author_direct_statuses (steps add_reblog, remove_reblog, drop_boost,
                                   count_reply);
                                   $$replies, $$created_threads (threads), $$edit_by_uuid, $$status_state,
                                   $$status_edits (edits),
                                   $$media, $$media_by_uuid, $$account_media (media), $$polls, $$poll_votes,
                                   $$poll_expiry, $$poll_vote_keys (polls), $$scheduled, $$scheduled_by_uuid,
                                   $$scheduled_due (scheduled); sources *statuses, *media, *poll_votes,
                                   *content_tick (status_ops); steps store_status store_reply store_media change_media
                                   store_poll apply_edit
               interactions (stream) $$favourite_ids, $$account_favourites, $$bookmark_ids,
                                   $$account_bookmarks, $$pin_ids, $$account_pins, $$favourited_by,
                                   $$conversation_mutes, $$interaction_id_clock (steps favourite_target,
                                   unfavourite_target)
               conversations (stream) $$direct_statuses, $$direct_conversations, $$direct_recent; sources
                                   *statuses_with_id, *conversations (steps add_to_conversation,
                                   remove_from_conversation)
               fanout (microbatch) $$fanout_continuations, $$fanout_cursors (steps fan_out_buckets,
                                   fan_out_tag, deliver_batch, deliver_lists): home, list and followed-tag fanout
    task globals home_timelines    timelines.HomeTimelines (by account)
               list_timelines      list_timelines.ListTimelines (by list id)
    outputs    home_updates        {"status": id, "accounts": [ids]}: one page of home deliveries (fanout)
               list_updates        {"status": id, "lists": [[owner, list_id]]}: list deliveries (fanout)
               public_updates      {"status", "author", "visibility", "tags", "local"}: a public status (fanout)
               status_deletes      {"status", "author", "visibility"}: a deleted status (fanout)
               status_updates      {"status", "revision", "author", "visibility", "tags", "mentions",
                                   "local"}: an edited status, once its revision is stored (edits.py)
               conversations       {"account", "conversation"}: a participant's entry changed by a
                                   direct status (conversations.py)
    queries    account account_by_username status status_id_for_uuid author_statuses author_deliveries
               home_timeline; list_timeline(owner, list_id, max_id?, limit?, since_id?, min_id?) (routed
               by list id; None if not the owner's); statuses (hydrate.py, routed by viewer); reblogged_by favourited_by
               (routed by status); favourites bookmarks pinned muted_conversation account_stats (routed
               by account); statuses_with_counts_on accounts_with_stats_on (on a given task);
               statuses_here accounts_here fanout_backlog home_deliveries (every task);
               context(viewer, id, ancestors?, descendants?, depth?) (routed by id), status_history(id),
               status_source(id), poll(viewer, id) (routed by id), media(viewer, ids),
               scheduled_statuses(author, max_id?, limit?), scheduled_status(author, id),
               direct_conversations(account, max_id?, limit?), direct_conversation(account, id)

Launch `relationships` first: fanout reads its follower buckets, followers, follows, list memberships
and tag followers (mirrors), and interactions, hydration and timeline reads its blocks, mutes and follows.
`$$id_clock` is written by the accounts topology only; statuses ids use their own clock PState
`$$status_id_clock` (one writer per PState), which also issues media and scheduled ids (its own key each),
and favourite / bookmark / pin ids have `$$interaction_id_clock`. Ids are `modules.ids`' scheme: a clock
per depot that issues them on each task (`modules.core.ids` names core's sources), so a replay that takes
the depots in another interleaving issues the same ids. Each file's docstring gives its PStates'
shapes: statuses, status_effects, boosts, interactions, threads, edits, media, polls, scheduled,
conversations.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from depots.declaration import hash_by, internal
from modules.core import (
    accounts,
    boosts,
    conversations,
    counts,
    edits,
    hydrate,
    interactions,
    list_timelines,
    media,
    polls,
    queries,
    scheduled,
    status_effects,
    status_ops,
    statuses,
    threads,
)
from modules.core.fanout import Fanout
from modules.core.records import Limits, accounts_key, field_key, poll_key, statuses_key
from modules.core.timelines import DEFAULT_CAP, HomeTimelines
from pstates.schema import Map, SortedMap, SortedSet
from topology.context import ReadContext
from topology.module import Module, ModuleBuilder, all_tasks, by_key, on_task

DEFAULT_FANOUT_LIMIT = 5_000
DEFAULT_TICK_MS = 100
DEFAULT_CONTENT_TICK_MS = 1_000
# The streaming API's sources.
STREAMED_OUTPUTS = (
    "home_updates",
    "list_updates",
    "public_updates",
    "status_deletes",
    "status_updates",
    "conversations",
)


class Core(Module):
    """Accounts, statuses and home timelines; `fanout_limit` followers per status per task per microbatch."""

    name = "core"

    def __init__(
        self,
        limits: Limits | None = None,
        fanout_limit: int = DEFAULT_FANOUT_LIMIT,
        tick_ms: int = DEFAULT_TICK_MS,
        home_cap: int = DEFAULT_CAP,
        content_tick_ms: int = DEFAULT_CONTENT_TICK_MS,
    ) -> None:
        self.limits = limits or Limits()
        self.fanout = Fanout(fanout_limit)
        self.tick_ms = tick_ms
        self.home_cap = home_cap
        self.content_tick_ms = content_tick_ms

    def define(self, m: ModuleBuilder) -> None:
        """Declare the depots, the three topologies, the home timelines and the queries."""
        m.depot("*accounts", hash_by(accounts_key))
        m.depot("*statuses", hash_by(statuses_key))
        m.depot("*reblogs", hash_by(interactions.account_key))
        m.depot("*statuses_with_id", internal())
        m.tick_depot("*fanout_tick", every_ms=self.tick_ms)
        m.depot("*media", hash_by(field_key("account")))
        m.depot("*poll_votes", hash_by(poll_key))
        m.depot("*conversations", hash_by(field_key("account")))
        m.depot("*poll_events", internal())
        m.tick_depot("*content_tick", every_ms=self.content_tick_ms)
        self._define_accounts(m)
        self._define_statuses(m)
        interactions.define(m)
        self._define_conversations(m)
        self._define_fanout(m)
        m.task_global("home_timelines", self._home_timelines)
        m.task_global("list_timelines", self._list_timelines)
        self._define_queries(m)
        self._define_content_queries(m)
        for output in STREAMED_OUTPUTS:
            m.output(output)

    def _define_accounts(self, m: ModuleBuilder) -> None:
        topology = m.stream("accounts")
        topology.pstate("$$accounts", Map(int, dict))
        topology.pstate("$$account_by_username", Map(str, dict))
        topology.pstate("$$account_by_uuid", Map(str, int))
        topology.pstate("$$id_clock", Map((str, int), int))
        topology.source("*accounts", partial(accounts.on_accounts, limits=self.limits))
        topology.step(accounts.store_account)

    def _define_statuses(self, m: ModuleBuilder) -> None:
        topology = m.stream("statuses")
        topology.pstate("$$statuses", Map(int, dict))
        topology.pstate("$$status_by_uuid", Map(int, SortedMap(str, int)))
        topology.pstate("$$author_statuses", Map(int, SortedMap(int, dict)))
        topology.pstate("$$status_id_clock", Map((str, int), int))
        topology.pstate("$$replies", Map(int, SortedSet(int)))
        topology.pstate("$$created_threads", Map((str, int), SortedMap(int, list)))
        topology.pstate("$$counted_replies", Map(int, SortedSet(int)))
        topology.pstate("$$author_direct_statuses", Map(int, SortedSet(int)))
        topology.pstate("$$edit_by_uuid", Map(int, SortedMap(str, int)))
        topology.pstate("$$status_state", Map(int, SortedMap(int, dict)))
        topology.pstate("$$status_edits", Map(int, SortedMap(int, dict)))
        topology.pstate("$$media", Map(int, dict))
        topology.pstate("$$media_by_uuid", Map(int, SortedMap(str, int)))
        topology.pstate("$$account_media", Map(int, SortedMap(int)))
        topology.pstate("$$polls", Map(int, dict))
        topology.pstate("$$poll_votes", Map(int, SortedMap(int, list)))
        topology.pstate("$$poll_expiry", Map((str, int), SortedMap((int, int), int)))
        topology.pstate("$$poll_vote_keys", Map(int, SortedSet((int, str))))
        topology.pstate("$$scheduled", Map(int, SortedMap(int, dict)))
        topology.pstate("$$scheduled_by_uuid", Map(int, SortedMap(str, int)))
        topology.pstate("$$scheduled_due", Map((str, int), SortedMap((int, int), int)))
        topology.source("*statuses", partial(status_ops.on_statuses, limits=self.limits))
        topology.source("*media", partial(media.on_media, limits=self.limits))
        topology.source("*poll_votes", status_ops.on_poll_votes)
        topology.source("*content_tick", partial(status_ops.on_tick, limits=self.limits))
        for step in (statuses.store_status, threads.store_reply, media.store_media, media.change_media):
            topology.step(step)
        topology.step(polls.store_poll)
        topology.step(edits.apply_edit)
        topology.step(status_effects.count_reply)
        boosts.declare(topology)

    def _define_conversations(self, m: ModuleBuilder) -> None:
        topology = m.stream("conversations")
        topology.pstate("$$direct_statuses", Map(int, SortedMap(int, dict)))
        topology.pstate("$$direct_conversations", Map(int, SortedMap(int, dict)))
        topology.pstate("$$direct_recent", Map(int, SortedMap(int, int)))
        topology.source("*statuses_with_id", conversations.on_statuses)
        topology.source("*conversations", conversations.on_conversations)
        topology.step(conversations.add_to_conversation)
        topology.step(conversations.remove_from_conversation)

    def _define_fanout(self, m: ModuleBuilder) -> None:
        topology = m.microbatch("fanout")
        topology.pstate("$$fanout_continuations", Map((str, int), SortedMap((int, int, int), dict)))
        topology.pstate("$$fanout_cursors", Map((str, int), SortedMap((int, str, str), dict)))
        topology.source("*statuses_with_id", self.fanout.on_statuses)
        topology.source("*fanout_tick", self.fanout.on_tick)
        topology.step(self.fanout.fan_out_buckets, "fan_out_buckets")
        topology.step(self.fanout.fan_out_tag, "fan_out_tag")
        topology.step(self.fanout.deliver_batch, "deliver_batch")
        topology.step(self.fanout.deliver_lists, "deliver_lists")

    def _define_queries(self, m: ModuleBuilder) -> None:
        for fn in (
            queries.account,
            queries.account_by_username,
            queries.status,
            queries.status_id_for_uuid,
            queries.author_statuses,
            queries.author_deliveries,
            queries.home_timeline,
            hydrate.statuses,
            boosts.reblogged_by,
            interactions.favourited_by,
            interactions.favourites,
            interactions.bookmarks,
            interactions.pinned,
            interactions.muted_conversation,
            counts.account_stats,
        ):
            m.query(fn.__name__, fn, route=by_key())
        m.query("statuses_here", queries.statuses_here, route=all_tasks(queries.merge_dicts))
        m.query("accounts_here", queries.accounts_here, route=all_tasks(queries.merge_dicts))
        for on in (counts.statuses_with_counts_on, counts.accounts_with_stats_on):
            m.query(on.__name__, on, route=on_task())
        m.query("fanout_backlog", queries.fanout_backlog, route=all_tasks(sum))
        m.query("home_deliveries", queries.home_deliveries, route=all_tasks(sum))

    def _define_content_queries(self, m: ModuleBuilder) -> None:
        m.query("context", threads.context, route=by_key(1))
        m.query("list_timeline", list_timelines.list_timeline, route=by_key(1))
        m.query("status_history", edits.history, route=by_key())
        m.query("status_source", edits.source, route=by_key())
        m.query("poll", polls.poll, route=by_key(1))
        m.query("media", media.media, route=by_key())
        for fn in (
            scheduled.scheduled_statuses,
            scheduled.scheduled_status,
            conversations.direct_conversations,
            conversations.direct_conversation,
        ):
            m.query(fn.__name__, fn, route=by_key())

    def _home_timelines(self, ctx: ReadContext) -> Any:
        return HomeTimelines(self.home_cap)

    def _list_timelines(self, ctx: ReadContext) -> Any:
        return list_timelines.ListTimelines(self.home_cap)
