"""The Mastodon module set of the worker chaos test: every Mastodon module, a follow graph, a posting load.

Setup (before any kill): `ACCOUNTS` accounts register, and each follows a few others picked with weights
1 / rank (a small power-law graph: low-numbered accounts are followed by most). The load, record `n`:

* mostly a status by a random author (uuid `chaos-n`);
* a self-reply: the author answers one of its own statuses that a query already showed (same author, so
  the same depot partition: the parent is before the reply in the depot, for the workers and a replay);
* a favourite of a status a query already showed, by an account that has not favourited it yet (the
  pair is the record's identity in the depot).

Appends acknowledged `PROCESSED` answer the status id; the set then reads the status back (`status`
query) and only such confirmed statuses are replied to or favourited. So nothing the load sends is
rejected for a missing target, on the workers or in a replay.

Favourites of one status are all sent within one wall-clock hour (and none in an hour's last 150 s):
notification groups bucket by the hour of the first favourite processed, an order a replay does not keep.

Left out, and why (docs/kafka.md, "Chaos test"): boosts. A boost takes its id from the same per-task
clock as a status (`$$status_id_clock`, key "statuses") but comes from another depot (`*reblogs`); the
id depends on which of the two partitions' records a task processed first, and a replay interleaves the
two depots differently from the live run, so `$$statuses` would differ by design. Replies to other
authors' statuses are left out for the same kind of reason: the parent is in another partition, which a
replay may process after the reply (then rejected there, accepted live).

The replay runs in stages (`replay_stages`): relationships and core's accounts first, then core's
statuses, then the rest, as the live load was causal (accounts before statuses, statuses before their
favourites). Live checks: every account's home timeline (first page) on the workers equals the replay's.
Fold checks: every status create of the depot is in the replay under its uuid, and each account's
favourites are the pairs of the depot.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from typing import Any

from cluster.client import ClusterClient
from cluster.inprocess import InProcessCluster
from cluster.workers.chaos_modules import ChaosModules, DepotRecords
from pstates.errors import TuskError
from topology.module import Module

CORE, RELATIONSHIPS = "core", "relationships"
ACCOUNTS = 40
FOLLOWS_PER_ACCOUNT = 6
TIMELINE_PAGE = 40
FAVOURITE_SHARE, REPLY_SHARE = 0.15, 0.10
NOT_THE_LOAD = -1  # record_id of a depot record the load did not send
HOUR_S = 3_600.0
HOUR_MARGIN_S = 150.0  # no favourite sent this close to the next hour: an append lands within ~90 s


class MastodonLoad:
    """The set's state: account ids, statuses confirmed by a query, and the favourites sent."""

    def __init__(self) -> None:
        self.accounts: list[int] = []
        self.confirmed: list[tuple[int, int]] = []  # (author, status id), read back from the workers
        self.confirmed_of: dict[int, list[int]] = defaultdict(list)
        self.pending: dict[int, int] = {}  # n -> author, for a create whose id is not known yet
        self.favourites: dict[tuple[int, int], int] = {}  # (account, status) -> n
        # status -> the wall-clock hour of its favourites: notification groups take their hour bucket from
        # the first favourite *processed*, so favourites of one status straddling an hour would bucket in
        # an order a replay does not reproduce (modules/notifications/grouping.py). Kept within one hour.
        self.favoured_in: dict[int, float] = {}

    async def setup(self, client: ClusterClient) -> None:
        """Register the accounts, then the follows of the power-law graph (everything acknowledged PROCESSED)."""
        registrations = [
            {"op": "register", "uuid": f"chaos-account-{k}", "username": f"chaos{k}"} for k in range(ACCOUNTS)
        ]
        results = await asyncio.gather(*(client.append(CORE, "*accounts", r) for r in registrations))
        self.accounts = [int(result.value) for result in results]
        follows = [
            {"op": "follow", "follower": follower, "followee": followee}
            for follower, followee in follow_graph(self.accounts)
        ]
        await asyncio.gather(*(client.append(RELATIONSHIPS, "*follows", f) for f in follows))

    def next_append(self, seed: int, n: int) -> tuple[str, str, dict[str, Any]]:
        """Record `n`: a status, a self-reply or a favourite (see the module docstring)."""
        rng = random.Random(seed * 1_000_003 + n)
        roll = rng.random()
        if roll < FAVOURITE_SHARE and self.confirmed:
            favourite = self._favourite(rng, n)
            if favourite is not None:
                return CORE, "*favourites", favourite
        author = rng.choice(self.accounts)
        record: dict[str, Any] = {"op": "create", "author": author, "uuid": f"chaos-{n}", "text": f"status {n}"}
        own = self.confirmed_of.get(author)
        if roll > 1 - REPLY_SHARE and own:
            record["in_reply_to"] = rng.choice(own)
            record["text"] = f"reply {n}"
        self.pending[n] = author
        return CORE, "*statuses", record

    def _favourite(self, rng: random.Random, n: int) -> dict[str, Any] | None:
        hour, into_hour_s = divmod(time.time(), HOUR_S)
        if into_hour_s > HOUR_S - HOUR_MARGIN_S:
            return None  # an append sent now may be timed in the next hour (see `favoured_in`)
        for _ in range(8):  # a few tries for a pair not sent yet; else a status instead
            author, status = rng.choice(self.confirmed)
            account = rng.choice(self.accounts)
            if account == author or (account, status) in self.favourites:
                continue
            if self.favoured_in.setdefault(status, hour) != hour:
                continue
            self.favourites[(account, status)] = n
            return {"op": "favourite", "account": account, "status": status}
        return None

    async def on_acknowledged(self, client: ClusterClient, n: int, value: Any) -> None:
        """A `PROCESSED` create answered its status id: read it back, and if it is there, it is a target."""
        author = self.pending.pop(n, None)
        if author is None or value is None:
            return
        try:
            found = await client.query(CORE, "status", int(value))
        except (TuskError, TimeoutError, OSError):
            return  # a failover in between: not a target, nothing else changes
        if found is not None:
            self.confirmed.append((author, int(value)))
            self.confirmed_of[author].append(int(value))

    def record_id(self, record: Any) -> int:
        """The load's `n` of a depot record: from the status uuid, or the favourite's (account, status)."""
        if "uuid" in record:
            uuid = str(record["uuid"])
            return int(uuid.removeprefix("chaos-")) if uuid.startswith("chaos-") else NOT_THE_LOAD
        return self.favourites.get((int(record["account"]), int(record["status"])), NOT_THE_LOAD)

    async def live_checks(self, client: ClusterClient, replay: InProcessCluster) -> list[str]:
        """Every account's home timeline (first page) on the workers equals the replay's."""
        problems: list[str] = []
        for account in self.accounts:
            live = await client.query(CORE, "home_timeline", account, None, TIMELINE_PAGE)
            replayed = await replay.query(CORE, "home_timeline", account, None, TIMELINE_PAGE)
            if live != replayed:
                problems.append(
                    f"home timeline of {account}: {len(live)} ids on the workers, {len(replayed)} replayed, "
                    f"{len(set(live) ^ set(replayed))} not in both"
                )
        firsts = [await replay.query(CORE, "home_timeline", account, None, 1) for account in self.accounts]
        if not any(firsts):
            problems.append("every home timeline is empty: nothing was compared")
        return problems

    async def fold_checks(self, replay: InProcessCluster, depots: DepotRecords) -> list[str]:
        """Each status create is in the replay under its uuid; each account's favourites are the depot's pairs."""
        problems: list[str] = []
        creates = [r for r in depots[(CORE, "*statuses")] if r.get("op") == "create"]
        missing = [
            r["uuid"] for r in creates if await replay.query(CORE, "status_id_for_uuid", r["author"], r["uuid"]) is None
        ]
        if missing:
            problems.append(f"{len(missing)} of {len(creates)} status creates have no status in the replay")
        wanted: dict[int, set[int]] = defaultdict(set)
        for record in depots[(CORE, "*favourites")]:
            wanted[int(record["account"])].add(int(record["status"]))
        for account in self.accounts:
            favourited = await all_favourites(replay, account)
            if favourited != wanted[account]:
                problems.append(
                    f"favourites of {account}: replayed {len(favourited)}, the depot has {len(wanted[account])}"
                )
        return problems


async def all_favourites(cluster: ClusterClient, account: int) -> set[int]:
    """Every status `account` favourited, page by page (a page holds at most 40)."""
    found: set[int] = set()
    max_id: int | None = None
    while page := await cluster.query(CORE, "favourites", account, max_id, None, None, TIMELINE_PAGE):
        found |= {int(status) for _, status in page}
        max_id = int(page[-1][0])
    return found


def follow_graph(accounts: list[int], seed: int = 7) -> list[tuple[int, int]]:
    """(follower, followee) pairs: each account follows `FOLLOWS_PER_ACCOUNT` others, weighted 1 / rank."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(accounts))]
    pairs: list[tuple[int, int]] = []
    for follower in accounts:
        followees: set[int] = set()
        while len(followees) < FOLLOWS_PER_ACCOUNT:
            followee = rng.choices(accounts, weights)[0]
            if followee != follower:
                followees.add(followee)
        pairs += [(follower, followee) for followee in sorted(followees)]
    return pairs


def _mastodon_modules() -> list[Module]:
    from cluster.serve import mastodon_modules

    return mastodon_modules()


def mastodon_set() -> ChaosModules:
    """A fresh Mastodon module set (its load keeps the ids the workers answered)."""
    load = MastodonLoad()
    return ChaosModules(
        name="mastodon",
        worker_modules=("mastodon",),
        build=_mastodon_modules,
        load_depots=((CORE, "*statuses"), (CORE, "*favourites")),
        next_append=load.next_append,
        record_id=load.record_id,
        probe=(CORE, "fanout_backlog"),
        live_checks=load.live_checks,
        fold_checks=load.fold_checks,
        setup=load.setup,
        on_acknowledged=load.on_acknowledged,
        replay_stages=(
            frozenset(
                {(RELATIONSHIPS, "graph"), (RELATIONSHIPS, "tags"), (RELATIONSHIPS, "filters"), (CORE, "accounts")}
            ),
            frozenset({(CORE, "statuses")}),
        ),
    )
