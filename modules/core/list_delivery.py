"""Which list timelines a status reaches, and which homes an exclusive list keeps it out of.

Reads relationships' list PStates (mirrors, routed by their key):

    $$list_memberships  member -> (owner, list_id) -> {"replies_policy", "exclusive"}   on the member's task
    $$list_members      owner -> sorted set of (list_id, member)                        on the owner's task

Fanout starts on the author's task, so the author's memberships are a local read: for an author in no list
(nearly everyone) one point read of their size per status, which is then all lists cost. An `exclusive` list
(Mastodon 4.2+) keeps its members' statuses out of its owner's home timeline; fanout learns who those
owners are with one range read of the author's memberships per page of followers (`exclusive_owners`),
only for authors flagged as members of some exclusive list (`EXCLUSIVE_FLAG`, set when fanout starts).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.core.delivery import Delivery, reaches_list
from topology.context import ReadContext, TopologyContext

MEMBERSHIPS = "$$list_memberships"
LIST_MEMBERS = "$$list_members"
EXCLUSIVE_FLAG = "exclusive_lists"  # in a Delivery: its author may be in an exclusive list
MEMBERS_PAGE = 80  # relationships' largest page of list members

Membership = tuple[tuple[int, int], dict[str, Any]]  # ((owner, list_id), {"replies_policy", "exclusive"})


def memberships(ctx: ReadContext, author: int, after: Any, limit: int) -> list[Membership]:
    """Return up to `limit` of the lists `author` is a member of, after `(owner, list_id)` `after`."""
    view = ctx.pstate(MEMBERSHIPS, module="relationships")
    if after is None and not view.size(author):
        return []  # a point read: a range read opens an iterator, several times dearer (measured)
    start = None if after is None else (int(after[0]), int(after[1]) + 1)
    rows: list[Membership] = view.range(author, start, limit=limit)
    return rows


def flagged(status: Delivery, rows: list[Membership], complete: bool) -> Delivery:
    """Return `status`, flagged if its author is (or, with more rows unread, may be) in an exclusive list."""
    if complete and not any(settings["exclusive"] for _, settings in rows):
        return status
    return {**status, EXCLUSIVE_FLAG: True}


def list_targets(ctx: TopologyContext, status: Delivery, rows: list[Membership]) -> list[list[int]]:
    """Return the `[owner, list_id]` of the lists among `rows` that `status` reaches."""
    following = ctx.pstate("$$following", module="relationships")
    members = ctx.pstate(LIST_MEMBERS, module="relationships")
    author = status["author"]

    def follows(a: int, b: int) -> bool:
        return bool(following.contains(a, b))

    targets: list[list[int]] = []
    for (owner, list_id), settings in rows:

        def in_list(account: int, owner: int = owner, list_id: int = list_id) -> bool:
            return bool(members.contains(owner, (list_id, account)))

        options = following.get(owner, author)
        if reaches_list(status, owner, options, settings["replies_policy"], follows, in_list):
            targets.append([owner, list_id])
    return targets


def exclusive_owners(ctx: ReadContext, status: Delivery, accounts: list[int]) -> set[int]:
    """Return those of `accounts` who keep `status` out of their home: its author is in their exclusive list."""
    if not accounts or not status.get(EXCLUSIVE_FLAG):
        return set()
    view = ctx.pstate(MEMBERSHIPS, module="relationships")
    rows = view.range(status["author"], (min(accounts),), (max(accounts) + 1,))  # one read for the page
    owners = {owner for (owner, _), settings in rows if settings["exclusive"]}
    return owners.intersection(accounts)


def exclusive_members(ctx: ReadContext, owner: int) -> set[int]:
    """Return the members of `owner`'s exclusive lists: their statuses stay out of `owner`'s home."""
    found: Iterable[dict[str, Any]] = ctx.query("relationships", "lists", owner)
    out: set[int] = set()
    for exclusive in (found_list for found_list in found if found_list["exclusive"]):
        out.update(list_members(ctx, owner, exclusive["id"]))
    return out


def list_members(ctx: ReadContext, owner: int, list_id: int) -> list[int]:
    """Return every member of `owner`'s list `list_id` (page by page)."""
    out: list[int] = []
    max_id: int | None = None
    while True:
        page: list[int] = ctx.query("relationships", "list_members", owner, list_id, max_id, MEMBERS_PAGE)
        out += page
        if len(page) < MEMBERS_PAGE:
            return out
        max_id = page[-1]
