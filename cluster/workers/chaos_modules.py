"""The module sets the worker chaos test can run: what the load appends, and what each set checks beyond PStates.

A `ChaosModules` names the modules `tusk worker --module` hosts, builds them (in launch order, for the
embedded replay), makes the load's records, says how to find a record's identity in the depot, which
query shows that a task answers, and adds its own checks: `live_checks` run against the workers before they
stop (task globals such as home timelines live only in a running worker's memory) and `fold_checks`
recompute expected state straight from the depot records, so the replay itself is checked too.

Two sets: `ledger` (below) and `mastodon` (`chaos_mastodon.py`: accounts and follows in `setup`, statuses,
self-replies and favourites as the load, home timelines compared live). A set whose load depends on what
the workers answered (ids) keeps that state itself, so `module_set` builds a fresh one per run.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cluster.client import ClusterClient
from cluster.inprocess import InProcessCluster
from topology.module import Module

DepotRecords = dict[tuple[str, str], list[Any]]  # (module, depot) -> every record of it, partition by partition


@dataclass(frozen=True)
class ChaosModules:
    """One module set the chaos driver can load, kill under, and verify."""

    name: str
    worker_modules: tuple[str, ...]  # `tusk worker --module` names
    build: Callable[[], list[Module]]  # in launch order: a module after the modules it mirrors
    load_depots: tuple[tuple[str, str], ...]  # (module, depot) the load appends to, checked exactly-once
    next_append: Callable[[int, int], tuple[str, str, dict[str, Any]]]  # (seed, n) -> module, depot, record
    record_id: Callable[[Any], int]  # the load's number `n` of a record read back from a depot
    probe: tuple[str, str]  # (module, fan-out query): asked of one task, it answers iff the task is served
    live_checks: Callable[[ClusterClient, InProcessCluster], Awaitable[list[str]]]
    fold_checks: Callable[[InProcessCluster, DepotRecords], Awaitable[list[str]]]
    setup: Callable[[ClusterClient], Awaitable[None]] | None = None
    # (client, n, the append's result value): awaited after append `n` was acknowledged
    on_acknowledged: Callable[[ClusterClient, int, Any], Awaitable[None]] | None = None
    replay_stages: tuple[frozenset[tuple[str, str]], ...] = ()  # (module, topology) run first, in order


# -- the ledger ------------------------------------------------------------------------------------------------

LEDGER_ACCOUNTS = [f"a{k}" for k in range(29)]


def _ledger_modules() -> list[Module]:
    from modules.examples.ledger import Ledger

    return [Ledger()]


def _ledger_transfer(seed: int, n: int) -> tuple[str, str, dict[str, Any]]:
    """Transfer number `n` of run `seed`: its content depends on nothing else, so a rerun appends the same."""
    rng = random.Random(seed * 1_000_003 + n)
    amount = rng.randint(-50, 99) or 100  # never 0: the ledger rejects empty transfers
    return "ledger", "*transfers", {"id": n, "account": rng.choice(LEDGER_ACCOUNTS), "amount": amount}


def _transfer_id(record: Any) -> int:
    return int(record["id"])


async def _ledger_live_checks(client: ClusterClient, replay: InProcessCluster) -> list[str]:
    """Balances and the transfer count answered by the workers equal the replay's answers."""
    problems: list[str] = []
    for account in LEDGER_ACCOUNTS:
        live, replayed = (
            await client.query("ledger", "balance", account),
            await replay.query("ledger", "balance", account),
        )
        if live != replayed:
            problems.append(f"balance of {account}: workers answer {live}, the replay {replayed}")
    live_count, replay_count = await client.query("ledger", "total_count"), await replay.query("ledger", "total_count")
    if live_count != replay_count:
        problems.append(f"total_count: workers answer {live_count}, the replay {replay_count}")
    return problems


async def _ledger_fold_checks(replay: InProcessCluster, depots: DepotRecords) -> list[str]:
    """The replay's balances, bucket counts and histories equal a plain fold of the transfers."""
    from modules.examples.ledger import bucket_of

    transfers = depots[("ledger", "*transfers")]
    balances: Counter[str] = Counter()
    for transfer in transfers:
        balances[transfer["account"]] += transfer["amount"]
    problems = [
        f"replayed balance of {account} is {got}, the fold says {balances[account]}"
        for account in LEDGER_ACCOUNTS
        if (got := await replay.query("ledger", "balance", account)) != balances[account]
    ]
    runtime = replay.runtime("ledger")
    buckets = {b: n for task in runtime.owned for b, n in runtime.committed_view(task, "$$bucket_counts").range()}
    if buckets != dict(Counter(bucket_of(t["id"]) for t in transfers)):
        problems.append(f"replayed $$bucket_counts {buckets} differ from the fold of {len(transfers)} transfers")
    in_history = Counter(
        transfer_id
        for account in LEDGER_ACCOUNTS
        for transfer_id, _ in runtime.committed_view(runtime.task_of(account), "$$history").range(account)
    )
    expected = Counter(t["id"] for t in transfers)
    if in_history != expected:
        problems.append(f"$$history holds {sum(in_history.values())} ids, not each of the {len(expected)} once")
    return problems


LEDGER = ChaosModules(
    name="ledger",
    worker_modules=("ledger",),
    build=_ledger_modules,
    load_depots=(("ledger", "*transfers"),),
    next_append=_ledger_transfer,
    record_id=_transfer_id,
    probe=("ledger", "total_count"),
    live_checks=_ledger_live_checks,
    fold_checks=_ledger_fold_checks,
)


def _mastodon() -> ChaosModules:
    from cluster.workers.chaos_mastodon import mastodon_set

    return mastodon_set()


MODULE_SETS: dict[str, Callable[[], ChaosModules]] = {"ledger": lambda: LEDGER, "mastodon": _mastodon}


def module_set(name: str) -> ChaosModules:
    """A fresh module set called `name`, or SystemExit naming the known ones."""
    build = MODULE_SETS.get(name)
    if build is None:
        raise SystemExit(f"unknown module set {name!r}; known: {sorted(MODULE_SETS)}")
    return build()
