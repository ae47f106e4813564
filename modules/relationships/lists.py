"""Lists: named subsets of the accounts a user follows, each with its own timeline.

Written by the graph topology from `list_*` records of `*follows` (see `records` for why they share that
depot); an unfollow or a block drops the member in the same commit as the follow:

    owner's task    $$lists             owner -> list_id -> {"id", "title", "replies_policy", "exclusive"}
                    $$list_uuids        owner -> client uuid -> list_id   (idempotent create)
                    $$list_members      owner -> sorted set of (list_id, member)
                    $$lists_by_member   owner -> sorted set of (member, list_id)
                    $$id_clock          per-task id clock (see `ids`)
    member's task   $$list_memberships  member -> (owner, list_id) -> {"replies_policy", "exclusive"}

`$$list_memberships` is the fanout's index: the statuses of a member reach these list timelines, read on
the member's (the author's) task without asking each owner. Mastodon rules kept: at most 50 lists per
owner, members must be followed by the owner, `replies_policy` is followed | list | none (default list).
"""

from __future__ import annotations

from typing import Any

from modules.relationships.ids import issue_id
from modules.relationships.records import LIST_OPS
from topology.context import ReadContext, RecordRejected, StreamContext, TopologyContext

Record = dict[str, Any]

LISTS = "$$lists"
LIST_UUIDS = "$$list_uuids"
LIST_MEMBERS = "$$list_members"
LISTS_BY_MEMBER = "$$lists_by_member"
LIST_MEMBERSHIPS = "$$list_memberships"
ID_CLOCK = "$$id_clock"

REPLIES_POLICIES = frozenset({"followed", "list", "none"})
MAX_LISTS = 50  # Mastodon's List::PER_ACCOUNT_LIMIT
MAX_TITLE_CHARS = 256  # Mastodon stores an unbounded string; we bound it like other user strings
MAX_UUID_CHARS = 100
MAX_ACCOUNTS_PER_RECORD = 250
DEFAULT_PAGE = 40
MAX_PAGE = 80

# -- list records of *follows ----------------------------------------------------------------------


def on_lists(ctx: StreamContext, record: Record) -> int | None:
    """Apply a list record on the owner's task; a create returns the list id."""
    op = record.get("op")
    if op not in LIST_OPS:
        raise RecordRejected(f"unknown op {op!r}: expected one of {sorted(LIST_OPS)}")
    owner = _int(record, "owner")
    if op == "list_create":
        return create_list(ctx, owner, record)
    list_id = _int(record, "list_id")
    current = ctx.pstate(LISTS).get(owner, list_id)
    if current is None:
        if op in ("list_delete", "list_remove"):
            return None  # already gone: a retried delete changes nothing
        raise RecordRejected(f"account {owner} has no list {list_id}")
    _LIST_HANDLERS[op](ctx, owner, current, record)
    return None


def create_list(ctx: StreamContext, owner: int, record: Record) -> int:
    """Create a list, or return the one already created with this client uuid."""
    uuid = record.get("uuid")
    if not isinstance(uuid, str) or not 0 < len(uuid) <= MAX_UUID_CHARS:
        raise RecordRejected(f"uuid must be a non-empty string of at most {MAX_UUID_CHARS} characters")
    existing = ctx.pstate(LIST_UUIDS).get(owner, uuid)
    if existing is not None:
        return int(existing)
    lists = ctx.pstate(LISTS)
    if lists.size(owner) >= MAX_LISTS:
        raise RecordRejected(f"account {owner} already has {MAX_LISTS} lists, the limit")
    settings = list_settings(record, {"title": None, "replies_policy": "list", "exclusive": False})
    list_id = issue_id(ctx, "*lists", ID_CLOCK)
    lists.put(owner, list_id, {"id": list_id, **settings})
    ctx.pstate(LIST_UUIDS).put(owner, uuid, list_id)
    return list_id


def update_list(ctx: TopologyContext, owner: int, current: Record, record: Record) -> None:
    """Change a list's title, replies policy or exclusivity; members' indexes follow the policy."""
    updated = {"id": current["id"], **list_settings(record, current)}
    ctx.pstate(LISTS).put(owner, current["id"], updated)
    if _delivery(updated) != _delivery(current):
        for member in _members(ctx, owner, current["id"]):
            ctx.hop(member, "list_membership_put", [member, owner, current["id"], _delivery(updated)])


def delete_list(ctx: TopologyContext, owner: int, current: Record, record: Record) -> None:
    """Delete a list and its memberships."""
    list_id = current["id"]
    for member in _members(ctx, owner, list_id):
        _remove_member(ctx, owner, list_id, member)
    ctx.pstate(LISTS).remove(owner, list_id)


def add_members(ctx: TopologyContext, owner: int, current: Record, record: Record) -> None:
    """Add accounts the owner follows to a list (all or none)."""
    accounts = _accounts(record)
    following = ctx.pstate("$$following")
    strangers = [account for account in accounts if not following.contains(owner, account)]
    if strangers:
        raise RecordRejected(f"account {owner} must follow {strangers} to add them to a list")
    delivery = _delivery(current)
    for member in accounts:
        ctx.pstate(LIST_MEMBERS).add(owner, (current["id"], member))
        ctx.pstate(LISTS_BY_MEMBER).add(owner, (member, current["id"]))
        ctx.hop(member, "list_membership_put", [member, owner, current["id"], delivery])


def remove_members(ctx: TopologyContext, owner: int, current: Record, record: Record) -> None:
    """Remove accounts from a list (absent ones are ignored)."""
    for member in _accounts(record):
        _remove_member(ctx, owner, current["id"], member)


_LIST_HANDLERS = {
    "list_update": update_list,
    "list_delete": delete_list,
    "list_add": add_members,
    "list_remove": remove_members,
}

# -- steps and the graph's hook ------------------------------------------------------------------------


def list_membership_put(ctx: TopologyContext, payload: list[Any]) -> None:
    """Index that `member`'s statuses reach `owner`'s list (on the member's task)."""
    member, owner, list_id, delivery = payload
    ctx.pstate(LIST_MEMBERSHIPS).put(member, (owner, list_id), delivery)


def list_membership_remove(ctx: TopologyContext, payload: list[int]) -> None:
    """Drop that index entry (on the member's task)."""
    member, owner, list_id = payload
    ctx.pstate(LIST_MEMBERSHIPS).remove(member, (owner, list_id))


def drop_member(ctx: TopologyContext, owner: int, member: int) -> None:
    """Remove `member` from every list of `owner` (the follow ended), on the owner's task."""
    rows = ctx.pstate(LISTS_BY_MEMBER).range(owner, (member,), (member + 1,))
    for _, list_id in rows:
        _remove_member(ctx, owner, list_id, member)


STEPS = (list_membership_put, list_membership_remove)

# -- queries -------------------------------------------------------------------------------------------


def lists(ctx: ReadContext, owner: int) -> list[Record]:
    """Return every list of `owner`, oldest first (Mastodon's GET /api/v1/lists)."""
    return [value for _, value in ctx.pstate(LISTS).range(owner)]


def get_list(ctx: ReadContext, owner: int, list_id: int) -> Record | None:
    """Return one list of `owner`, or None."""
    value: Record | None = ctx.pstate(LISTS).get(owner, list_id)
    return value


def list_members(
    ctx: ReadContext, owner: int, list_id: int, max_id: int | None = None, limit: int = DEFAULT_PAGE
) -> list[int]:
    """Return a page of a list's member ids, largest first, below `max_id` (exclusive)."""
    end = (list_id, max_id) if max_id is not None else (list_id + 1,)
    limit = max(1, min(int(limit), MAX_PAGE))
    rows = ctx.pstate(LIST_MEMBERS).range(owner, (list_id,), end, reverse=True, limit=limit)
    return [member for _, member in rows]


def lists_with_member(ctx: ReadContext, owner: int, member: int) -> list[Record]:
    """Return the lists of `owner` that include `member` (Mastodon's GET /api/v1/accounts/:id/lists)."""
    rows = ctx.pstate(LISTS_BY_MEMBER).range(owner, (member,), (member + 1,))
    view = ctx.pstate(LISTS)
    return [value for _, list_id in rows if (value := view.get(owner, list_id)) is not None]


def member_lists(ctx: ReadContext, member: int) -> list[Record]:
    """Return the list timelines `member`'s statuses reach: owner, list id and delivery settings."""
    rows = ctx.pstate(LIST_MEMBERSHIPS).range(member)
    return [{"owner": owner, "list_id": list_id, **delivery} for (owner, list_id), delivery in rows]


# -- helpers -------------------------------------------------------------------------------------------


def list_settings(record: Record, current: Record) -> Record:
    """Return title, replies_policy and exclusive: the record's where given, else `current`'s."""
    title = record.get("title", current["title"])
    if not isinstance(title, str) or not title.strip():
        raise RecordRejected("a list needs a non-empty title")
    if len(title) > MAX_TITLE_CHARS:
        raise RecordRejected(f"title is {len(title)} characters, over the limit of {MAX_TITLE_CHARS}")
    policy = record.get("replies_policy") or current["replies_policy"]
    if policy not in REPLIES_POLICIES:
        raise RecordRejected(f"replies_policy must be one of {sorted(REPLIES_POLICIES)}, got {policy!r}")
    exclusive = record.get("exclusive", current["exclusive"])
    if type(exclusive) is not bool:
        raise RecordRejected(f"exclusive must be a bool, got {exclusive!r}")
    return {"title": title.strip(), "replies_policy": policy, "exclusive": exclusive}


def _delivery(value: Record) -> Record:
    return {"replies_policy": value["replies_policy"], "exclusive": value["exclusive"]}


def _members(ctx: TopologyContext, owner: int, list_id: int) -> list[int]:
    return [member for _, member in ctx.pstate(LIST_MEMBERS).range(owner, (list_id,), (list_id + 1,))]


def _remove_member(ctx: TopologyContext, owner: int, list_id: int, member: int) -> None:
    ctx.pstate(LIST_MEMBERS).remove(owner, (list_id, member))
    if ctx.pstate(LISTS_BY_MEMBER).remove(owner, (member, list_id)):
        ctx.hop(member, "list_membership_remove", [member, owner, list_id])


def _accounts(record: Record) -> list[int]:
    accounts = record.get("accounts")
    if not isinstance(accounts, list) or not accounts or not all(type(a) is int for a in accounts):
        raise RecordRejected(f"accounts must be a non-empty list of account ids, got {accounts!r}")
    if len(accounts) > MAX_ACCOUNTS_PER_RECORD:
        raise RecordRejected(f"at most {MAX_ACCOUNTS_PER_RECORD} accounts per record, got {len(accounts)}")
    return sorted(set(accounts))


def _int(record: Record, name: str) -> int:
    value = record.get(name)
    if type(value) is not int:
        raise RecordRejected(f"{name} must be an id (int), got {value!r}")
    return value
