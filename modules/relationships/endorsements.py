"""Endorsements (Mastodon's featured accounts): accounts a user shows on their profile.

`$$endorsements`: account -> sorted set of endorsed accounts, on the endorser's task, written by the graph
topology from `*follows` records (see `records` for why they share that depot), so that an unfollow or a
block (which end the follow in `$$following` on the same task) drop the endorsement in the same commit.
Mastodon only lets you endorse an account you follow.
"""

from __future__ import annotations

from typing import Any

from modules.relationships.records import ENDORSE_OPS, check_pair
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

ENDORSEMENTS = "$$endorsements"
# Mastodon has no documented cap; a profile shows a handful, so we bound the set.
MAX_ENDORSEMENTS = 500


def on_endorsements(ctx: StreamContext, record: dict[str, Any]) -> None:
    """Endorse an account the endorser follows, or drop an endorsement (on the endorser's task)."""
    account, target = check_pair(record, "account", "target", ENDORSE_OPS)
    view = ctx.pstate(ENDORSEMENTS)
    if record["op"] == "unendorse":
        view.remove(account, target)
        return
    if not ctx.pstate("$$following").contains(account, target):
        raise RecordRejected(f"account {account} must follow {target} to endorse it")
    if not view.contains(account, target) and view.size(account) >= MAX_ENDORSEMENTS:
        raise RecordRejected(f"account {account} already endorses {MAX_ENDORSEMENTS} accounts, the limit")
    view.add(account, target)


def drop_endorsement(ctx: TopologyContext, account: int, target: int) -> None:
    """Forget that `account` endorses `target` (their follow ended), on `account`'s task."""
    ctx.pstate(ENDORSEMENTS).remove(account, target)


def is_endorsed(ctx: ReadContext, account: int, target: int) -> bool:
    """Whether `account` endorses `target` (read on `account`'s task)."""
    return bool(ctx.pstate(ENDORSEMENTS).contains(account, target))
