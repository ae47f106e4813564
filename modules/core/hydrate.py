"""The hydrate query `statuses(viewer, ids)`: what a client needs to render a page of statuses.

Per status, in the order asked, live and visible ones only: the stored status, its author's account (with
`statuses_count` and `last_status_at`), `replies_count`, `reblogs_count`, `favourites_count`, for a boost
`reblog` (its original, hydrated the same way; else None), and for a signed-in viewer the flags
`favourited`, `reblogged`, `bookmarked`, `pinned` and `muted` (the conversation).

Left out: deleted statuses, boosts of deleted statuses, and whatever `visibility.hidden` hides from the
viewer — private / direct statuses they may not see, and statuses (or boosted originals) by accounts they
block, are blocked by or mute (their own statuses always show).

Batched: the query runs on the viewer's task, so the viewer flags are local reads there; statuses with
their counts, then the originals of boosts, then accounts with their stats are read with one query per
owning task each (`counts.on_owners`: one multi-get per task); relations are read per distinct author from
relationships' PStates on the viewer's task.
"""

from __future__ import annotations

from typing import Any

from modules.core.counts import on_owners
from modules.core.interactions import BOOKMARKS, FAVOURITES, PINS
from modules.core.status_effects import thread_root
from modules.core.visibility import Relation, hidden, relations
from topology.context import ReadContext


def statuses(
    ctx: ReadContext, viewer: int | None, status_ids: list[int], now_ms: int | None = None
) -> list[dict[str, Any]]:
    """Hydrate `status_ids` for `viewer` (None: anonymous), routed by viewer; `now_ms` expires mutes."""
    found = on_owners(ctx, "statuses_with_counts_on", dict.fromkeys(status_ids))
    originals = {int(s["reblog_of"]) for s in found.values() if s.get("reblog_of") is not None}
    missing = originals - found.keys()
    if missing:
        found.update(on_owners(ctx, "statuses_with_counts_on", sorted(missing)))
    private_authors = {int(s["author"]) for s in found.values() if s["visibility"] == "private"}
    rels = relations(ctx, viewer, {int(s["author"]) for s in found.values()}, now_ms, private_authors)
    shown = [i for i in status_ids if i in found and visible(found, i, viewer, rels)]
    accounts = on_owners(ctx, "accounts_with_stats_on", authors_of(found, shown))
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
    """The viewer's own marks on statuses, read on the viewer's task (where this query runs).

    A mark the viewer has never made (an empty collection: one read) is not looked up per status.
    """

    def __init__(self, ctx: ReadContext, viewer: int | None) -> None:
        self.viewer = viewer
        names = (FAVOURITES.by_status, "$$boost_of", BOOKMARKS.by_status, PINS.by_status, "$$conversation_mutes")
        views = [] if viewer is None else [ctx.pstate(name) for name in names]
        self.views = [view if view.size(viewer) else None for view in views]

    def of(self, status: dict[str, Any]) -> dict[str, bool]:
        """Return the viewer's flags on `status` (none for an anonymous viewer)."""
        viewer = self.viewer
        if viewer is None:
            return {}
        favourites, boosts, bookmarks, pins, mutes = self.views
        status_id = status["id"]
        return {
            "favourited": favourites is not None and bool(favourites.contains(viewer, status_id)),
            "reblogged": boosts is not None and bool(boosts.contains(viewer, status_id)),
            "bookmarked": bookmarks is not None and bool(bookmarks.contains(viewer, status_id)),
            "pinned": pins is not None and bool(pins.contains(viewer, status_id)),
            "muted": mutes is not None and bool(mutes.contains(viewer, thread_root(status))),
        }
