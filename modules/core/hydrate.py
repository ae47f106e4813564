"""The hydrate query `statuses(viewer, ids)`: what a client needs to render a page of statuses.

Per status, in the order asked, live and visible ones only: the stored status, its author's account (with
`statuses_count` and `last_status_at`), `replies_count`, `reblogs_count`, `favourites_count`, for a boost
`reblog` (its original, hydrated the same way; else None), and for a signed-in viewer the flags
`favourited`, `reblogged`, `bookmarked`, `pinned` and `muted` (the conversation).

Left out: deleted statuses, boosts of deleted statuses, and whatever `visibility.hidden` hides from the
viewer — private / direct statuses they may not see, and statuses (or boosted originals) by accounts they
block, are blocked by or mute (their own statuses always show).

Batched: the query runs on the viewer's task, so the viewer flags are local reads there; statuses with
their counts, then the originals of boosts, then accounts with their stats are each one all-task query
(each task answers for the keys it owns with one multi-get); relations are read per distinct author from
relationships' PStates routed to the viewer's task.
"""

from __future__ import annotations

from typing import Any

from modules.core.interactions import BOOKMARKS, FAVOURITES, PINS
from modules.core.status_effects import thread_root
from modules.core.visibility import Relation, hidden, relations
from topology.context import ReadContext


def statuses(
    ctx: ReadContext, viewer: int | None, status_ids: list[int], now_ms: int | None = None
) -> list[dict[str, Any]]:
    """Hydrate `status_ids` for `viewer` (None: anonymous), routed by viewer; `now_ms` expires mutes."""
    found: dict[int, Any] = ctx.query("core", "statuses_with_counts_here", status_ids)
    originals = {int(s["reblog_of"]) for s in found.values() if s.get("reblog_of") is not None}
    missing = sorted(originals - found.keys())
    if missing:
        found.update(ctx.query("core", "statuses_with_counts_here", missing))
    rels = relations(ctx, viewer, {int(s["author"]) for s in found.values()}, now_ms)
    shown = [i for i in status_ids if i in found and visible(found, i, viewer, rels)]
    accounts = ctx.query("core", "accounts_with_stats_here", authors_of(found, shown))
    flags = ViewerFlags(ctx, viewer)
    return [card(found, i, accounts, flags) for i in shown]


def is_boost(status: dict[str, Any]) -> bool:
    """Whether `status` is a boost."""
    return status.get("reblog_of") is not None


def authors_of(found: dict[int, Any], shown: list[int]) -> list[int]:
    """Return the authors of the `shown` statuses and of the originals they boost."""
    authors = {found[i]["author"] for i in shown}
    authors.update(found[found[i]["reblog_of"]]["author"] for i in shown if is_boost(found[i]))
    return sorted(authors)


def visible(found: dict[int, Any], status_id: int, viewer: int | None, rels: dict[int, Relation]) -> bool:
    """Whether the viewer gets `status_id`: not hidden, and for a boost its original live and not hidden."""
    status = found[status_id]
    if hidden(status, viewer, rels[status["author"]]):
        return False
    if not is_boost(status):
        return True
    original = found.get(status["reblog_of"])
    return original is not None and not hidden(original, viewer, rels[original["author"]])


def card(found: dict[int, Any], status_id: int, accounts: dict[int, Any], flags: ViewerFlags) -> dict[str, Any]:
    """Return one hydrated status (and, for a boost, its hydrated original under `reblog`)."""
    status = found[status_id]
    reblog = card(found, status["reblog_of"], accounts, flags) if is_boost(status) else None
    return {**status, "account": accounts.get(status["author"]), **flags.of(status), "reblog": reblog}


class ViewerFlags:
    """The viewer's own marks on statuses, read on the viewer's task (where this query runs)."""

    def __init__(self, ctx: ReadContext, viewer: int | None) -> None:
        self.viewer = viewer
        if viewer is not None:
            self.favourites = ctx.pstate(FAVOURITES.by_status)
            self.bookmarks = ctx.pstate(BOOKMARKS.by_status)
            self.pins = ctx.pstate(PINS.by_status)
            self.boosts = ctx.pstate("$$boost_of")
            self.mutes = ctx.pstate("$$conversation_mutes")

    def of(self, status: dict[str, Any]) -> dict[str, bool]:
        """Return the viewer's flags on `status` (none for an anonymous viewer)."""
        viewer = self.viewer
        if viewer is None:
            return {}
        status_id = status["id"]
        return {
            "favourited": bool(self.favourites.contains(viewer, status_id)),
            "reblogged": bool(self.boosts.contains(viewer, status_id)),
            "bookmarked": bool(self.bookmarks.contains(viewer, status_id)),
            "pinned": bool(self.pins.contains(viewer, status_id)),
            "muted": bool(self.mutes.contains(viewer, thread_root(status))),
        }
