"""Who may see, favourite, bookmark or boost a status: Mastodon's StatusPolicy, one rule for writes and reads.

    show       the author always; nobody the author blocks; public and unlisted: everyone else; private:
               followers and mentioned accounts; direct: mentioned accounts only
    favourite  show, and the viewer does not block the author
    reblog     favourite, and not direct; private only by its own author (the boost stays private)
    bookmark   show

Hydration hides more than `show` forbids (`hidden`): statuses of accounts the viewer blocks or mutes.
Relations are read from the relationships module (mirrored PStates, routed to the viewer's task).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

from modules.relationships.records import mute_active
from topology.context import ReadContext, RecordRejected

OPEN_VISIBILITIES = ("public", "unlisted")
BOOSTABLE_VISIBILITIES = ("public", "unlisted", "private")


@dataclass(frozen=True, slots=True)
class Relation:
    """What a viewer's relationships to one author mean for seeing that author's statuses."""

    follows: bool = False
    blocks: bool = False  # the viewer blocks the author
    blocked_by: bool = False  # the author blocks the viewer
    mutes: bool = False  # the viewer mutes the author (in force now)


STRANGER = Relation()


def relation(ctx: ReadContext, viewer: int | None, author: int, now_ms: int | None) -> Relation:
    """Return `viewer`'s relation to `author` (a stranger's for an anonymous viewer or oneself)."""
    return relations(ctx, viewer, [author], now_ms)[author]


def relations(
    ctx: ReadContext,
    viewer: int | None,
    authors: Iterable[int],
    now_ms: int | None,
    follows_needed: Container[int] | None = None,
) -> dict[int, Relation]:
    """Return `viewer`'s relation to each of `authors` (every read goes to the viewer's relationships task).

    Only authors in `follows_needed` (None: all) get `follows` read: it matters for private statuses only.
    An empty block or mute list (the common case) costs one read, not one per author.
    """
    if viewer is None:
        return dict.fromkeys(authors, STRANGER)
    following, blocking, blocked_by, muting = (
        ctx.pstate(name, module="relationships") for name in ("$$following", "$$blocking", "$$blocked_by", "$$muting")
    )
    any_blocking, any_blocked_by, any_muting = (view.size(viewer) > 0 for view in (blocking, blocked_by, muting))
    return {
        author: STRANGER
        if author == viewer
        else Relation(
            follows=(follows_needed is None or author in follows_needed) and bool(following.contains(viewer, author)),
            blocks=any_blocking and bool(blocking.contains(viewer, author)),
            blocked_by=any_blocked_by and bool(blocked_by.contains(viewer, author)),
            mutes=any_muting and mute_active(muting.get(viewer, author), now_ms),
        )
        for author in authors
    }


def can_see(status: dict[str, Any], viewer: int | None, rel: Relation) -> bool:
    """Whether `viewer` (None: anonymous) may see `status` at all."""
    if viewer is not None and viewer == status["author"]:
        return True
    if rel.blocked_by:
        return False
    if status["visibility"] in OPEN_VISIBILITIES:
        return True
    if viewer is None:
        return False
    return viewer in status["mentions"] or (status["visibility"] == "private" and rel.follows)


def hidden(status: dict[str, Any], viewer: int | None, rel: Relation) -> bool:
    """Whether hydration leaves `status` out for `viewer`: unseeable, or by an account they block or mute."""
    return not can_see(status, viewer, rel) or rel.blocks or rel.mutes


def refusal(action: str, status: dict[str, Any], account: int, rel: Relation) -> RecordRejected | None:
    """Return the rejection of `account` doing `action` ("favourite", "reblog", ...) to `status`, or None."""
    if not can_see(status, account, rel):  # Mastodon answers 404: its existence is not revealed
        return RecordRejected(f"status {status['id']} not found", "not_found")
    if action in ("favourite", "reblog") and rel.blocks:
        return RecordRejected(f"account {account} blocks the author of status {status['id']}", "forbidden")
    if action == "reblog":
        if status["visibility"] not in BOOSTABLE_VISIBILITIES:
            return RecordRejected("direct statuses cannot be boosted", "forbidden")
        if status["visibility"] == "private" and status["author"] != account:
            return RecordRejected("private statuses can only be boosted by their author", "forbidden")
    return None
