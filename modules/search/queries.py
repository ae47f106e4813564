"""Reads of the search module. Name and hashtag prefix scans run on every task (`*_here`) and merge."""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key
from modules.search.tokens import prefix_bounds, split_name_key, tokens
from topology.context import ReadContext

MODULE = "search"
MAX_LIMIT = 80
SCAN_PER_TASK = 200  # keys read per task per searched word: bounds a search's cost
STATUS_SCAN = 10_000  # ids read per word of a status search
LAST_ID = 2**63 - 1
# Rank of one word's match: exact username, exact display-name word, username prefix, display-name prefix.
RANKS = {(True, "username"): 0, (True, "display_name"): 1, (False, "username"): 2, (False, "display_name"): 3}


def accounts(ctx: ReadContext, q: str, viewer: int | None = None, limit: int = 40, offset: int = 0) -> list[int]:
    """Return account ids matching every word of `q` by prefix: followed first, then exact before prefix."""
    words = tokens(q.lstrip("@").split("@")[0])
    if not words:
        return []
    ranks: dict[int, int] | None = None
    for word in words:
        found: dict[int, int] = {}
        for token, account, field in ctx.query(MODULE, "names_here", word):
            rank = RANKS[(token == word, field)]
            found[account] = min(rank, found.get(account, rank))
        ranks = found if ranks is None else {a: r + found[a] for a, r in ranks.items() if a in found}
    assert ranks is not None
    following = ctx.pstate("$$following", module="relationships") if viewer is not None else None

    def order(account: int) -> tuple[bool, int, int]:
        followed = following is not None and bool(following.contains(viewer, account))
        return (not followed, ranks[account], account)

    return sorted(ranks, key=order)[offset : offset + _clamp(limit)]


def names_here(ctx: ReadContext, word: str) -> list[tuple[str, int, str]]:
    """Return this task's `$$names` entries whose word starts with `word` (runs on every task)."""
    start, end = prefix_bounds(word)
    rows = ctx.pstate("$$names").range(start, end, limit=SCAN_PER_TASK)
    return [(*split_name_key(key), field) for key, field in rows]


def hashtags(ctx: ReadContext, q: str, limit: int = 20, offset: int = 0) -> list[str]:
    """Return hashtags starting with `q` (without '#', case-insensitive): shortest, then by name, as Mastodon."""
    prefix = q.lstrip("#").casefold()
    if not prefix:
        return []
    found: list[tuple[str, int]] = ctx.query(MODULE, "tags_here", prefix)
    found.sort(key=lambda row: (len(row[0]), row[0]))  # the exact match is the shortest
    return [name for name, _ in found][offset : offset + _clamp(limit)]


def tags_here(ctx: ReadContext, prefix: str) -> list[tuple[str, int]]:
    """Return this task's hashtags starting with `prefix`, with their last use (runs on every task)."""
    start, end = prefix_bounds(prefix)
    return [(str(name), int(at)) for name, at in ctx.pstate("$$tags").range(start, end, limit=SCAN_PER_TASK)]


def statuses(ctx: ReadContext, account: int, q: str, limit: int = 20, offset: int = 0) -> list[int]:
    """Return ids of live statuses `account` may search (own, mentioned, favourited, bookmarked) with every word."""
    words = tokens(q)
    if not words:
        return []
    index = ctx.pstate("$$status_words")
    matches: set[int] | None = None
    for word in words:
        rows = index.range(account, (word, 0), (word, LAST_ID), reverse=True, limit=STATUS_SCAN)
        ids = {int(status_id) for (_, status_id), _ in rows}
        matches = ids if matches is None else matches & ids
    candidates = sorted(matches or (), reverse=True)
    live = ctx.query("core", "statuses_here", candidates)  # deleted statuses are tombstones or missing there
    found = [i for i in candidates if i in live and "deleted_at" not in live[i]]
    return found[offset : offset + _clamp(limit)]


def directory(
    ctx: ReadContext, order: str = "active", local: bool = False, limit: int = 40, offset: int = 0
) -> list[int]:
    """Return account ids for the profile directory: `order` "new" (registration) or "active" (last status)."""
    if order not in ("new", "active"):
        raise ValueError(f"order must be 'new' or 'active', got {order!r}")
    wanted = offset + _clamp(limit)
    rows: list[tuple[Any, int]] = ctx.query(MODULE, "directory_here", order, local, wanted)
    rows.sort(reverse=True)
    return [account for _, account in rows][offset:wanted]


def directory_here(ctx: ReadContext, order: str, local: bool, wanted: int) -> list[tuple[Any, int]]:
    """Return this task's newest `wanted` directory rows as (sort key, account) (runs on every task)."""
    key = task_key("directory", ctx.task, ctx.tasks, ctx.task_of)
    pstate = ctx.pstate("$$directory_new" if order == "new" else "$$directory_active")
    out: list[tuple[Any, int]] = []
    for item, entry in pstate.range(key, reverse=True):
        if local and not entry["local"]:
            continue
        out.append((tuple(item), item[1]) if order == "active" else (item, item))
        if len(out) >= wanted:
            break
    return out


def concat(results: list[list[Any]]) -> list[Any]:
    """Concatenate per-task lists."""
    return [item for result in results for item in result]


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))
