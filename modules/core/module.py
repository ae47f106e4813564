"""The core module: accounts, statuses, fanout to in-memory home timelines, hydration.

    depots     *accounts           register / update (records.py), by lower-cased username or account id
               *statuses           create / delete, by author
               *statuses_with_id   internal: created / deleted statuses, appended on the author's task
               *fanout_tick        tick depot: keeps throttled fanouts moving
    topologies accounts (stream)   $$accounts, $$account_by_username, $$account_by_uuid, $$id_clock
                                   (step store_account)
               statuses (stream)   $$statuses, $$status_by_uuid, $$author_statuses (step store_status)
               fanout (microbatch) $$fanout_continuations (steps fan_out_bucket, deliver)
    task global home_timelines     timelines.HomeTimelines
    outputs    home_updates        {"status": id, "accounts": [ids]}: one page of home deliveries (fanout)
               public_updates      {"status", "author", "visibility", "tags", "local"}: a public status (fanout)
               status_deletes      {"status", "author", "visibility"}: a deleted status (fanout)
    queries    account account_by_username status status_id_for_uuid author_statuses author_deliveries
               home_timeline statuses (hydrate, routed by viewer); statuses_here accounts_here
               fanout_backlog (every task)

Launch `relationships` first: fanout reads its follower buckets, followers and follows (mirrors).
`$$id_clock` is written by the accounts topology only; statuses ids use their own clock PState
`$$status_id_clock` (one writer per PState).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from depots.declaration import hash_by, internal
from modules.core import accounts, queries, statuses
from modules.core.fanout import Fanout
from modules.core.records import Limits, accounts_key, statuses_key
from modules.core.timelines import DEFAULT_CAP, HomeTimelines
from pstates.schema import Map, SortedMap
from topology.context import ReadContext
from topology.module import Module, ModuleBuilder, all_tasks, by_key

DEFAULT_FANOUT_LIMIT = 5_000
DEFAULT_TICK_MS = 100


class Core(Module):
    """Accounts, statuses and home timelines; `fanout_limit` followers per status per task per microbatch."""

    name = "core"

    def __init__(
        self,
        limits: Limits | None = None,
        fanout_limit: int = DEFAULT_FANOUT_LIMIT,
        tick_ms: int = DEFAULT_TICK_MS,
        home_cap: int = DEFAULT_CAP,
    ) -> None:
        self.limits = limits or Limits()
        self.fanout = Fanout(fanout_limit)
        self.tick_ms = tick_ms
        self.home_cap = home_cap

    def define(self, m: ModuleBuilder) -> None:
        """Declare the depots, the three topologies, the home timelines and the queries."""
        m.depot("*accounts", hash_by(accounts_key))
        m.depot("*statuses", hash_by(statuses_key))
        m.depot("*statuses_with_id", internal())
        m.tick_depot("*fanout_tick", every_ms=self.tick_ms)
        self._define_accounts(m)
        self._define_statuses(m)
        self._define_fanout(m)
        m.task_global("home_timelines", self._home_timelines)
        self._define_queries(m)
        for output in ("home_updates", "public_updates", "status_deletes"):  # the streaming API's sources
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
        topology.source("*statuses", partial(statuses.on_statuses, limits=self.limits))
        topology.step(statuses.store_status)

    def _define_fanout(self, m: ModuleBuilder) -> None:
        topology = m.microbatch("fanout")
        topology.pstate("$$fanout_continuations", Map((str, int), SortedMap((int, int, int), dict)))
        topology.source("*statuses_with_id", self.fanout.on_statuses)
        topology.source("*fanout_tick", self.fanout.on_tick)
        topology.step(self.fanout.fan_out_bucket, "fan_out_bucket")
        topology.step(self.fanout.deliver, "deliver")

    def _define_queries(self, m: ModuleBuilder) -> None:
        for fn in (
            queries.account,
            queries.account_by_username,
            queries.status,
            queries.status_id_for_uuid,
            queries.author_statuses,
            queries.author_deliveries,
            queries.home_timeline,
            queries.statuses,
        ):
            m.query(fn.__name__, fn, route=by_key())
        m.query("statuses_here", queries.statuses_here, route=all_tasks(queries.merge_dicts))
        m.query("accounts_here", queries.accounts_here, route=all_tasks(queries.merge_dicts))
        m.query("fanout_backlog", queries.fanout_backlog, route=all_tasks(sum))

    def _home_timelines(self, ctx: ReadContext) -> Any:
        return HomeTimelines(self.home_cap)
