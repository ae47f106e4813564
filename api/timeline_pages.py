"""Pages of public timelines that are filtered after hydration: for a viewer, and by a hashtag query's terms.

A module pages ids by their bounds; what it cannot filter (the viewer's blocks and mutes, the `all[]` and
`none[]` terms of a hashtag timeline, `only_media`) is dropped from the rendered statuses, and `walk` reads
on past the dropped ones, a chunk at a time and at most `MAX_WALK` chunks, so a page stays full when it can.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api import render
from api.config import CLIENT
from api.entities import Entity
from api.pagination import MAX_LIMIT, Page
from api.params import Params
from api.render import HasApp
from modules.core.text import normalize_tag

RELATIONSHIPS = "relationships"
MAX_WALK = 10
TAGS_PER_TERM = 4  # Mastodon's TagFeed reads at most 4 tags of each of any[], all[], none[]
Fetch = Callable[[Page], Awaitable[list[int]]]
Load = Callable[[list[int]], Awaitable[list[Entity]]]


async def walk(fetch: Fetch, load: Load, page: Page) -> list[Entity]:
    """Return the page's entities, newest first, reading further chunks while `load` drops statuses."""
    upward = page.min_id is not None
    cursor = page.min_id if upward else page.max_id
    found: list[Entity] = []
    size = page.limit
    for _ in range(MAX_WALK):
        chunk = Page(page.max_id, None, cursor, size) if upward else Page(cursor, page.since_id, None, size)
        ids = await fetch(chunk)  # newest first
        kept = await load(ids) if ids else []
        found = kept + found if upward else found + kept  # an upward chunk is newer than what came before
        if len(found) >= page.limit or len(ids) < size:
            break
        cursor, size = (ids[0] if upward else ids[-1]), MAX_LIMIT
    return found[-page.limit :] if upward else found[: page.limit]


def merge(parts: list[list[int]], chunk: Page) -> list[int]:
    """Merge pages of several timelines read with the same bounds into one, newest first."""
    upward = chunk.min_id is not None
    ids = sorted({i for part in parts for i in part}, reverse=not upward)[: chunk.limit]
    return sorted(ids, reverse=True)


async def viewable(request: HasApp, viewer: int | None, statuses: list[Entity]) -> list[Entity]:
    """Drop the statuses of authors `viewer` blocks, is blocked by or mutes (Mastodon's public feeds)."""
    authors = sorted({int(s["account"]["id"]) for s in statuses} - {viewer})
    if viewer is None or not authors:
        return statuses
    now_ms = int(time.time() * 1000)
    found = await request.app[CLIENT].query(RELATIONSHIPS, "relationships", viewer, authors, now_ms)
    hidden = {str(r["id"]) for r in found if r["blocking"] or r["blocked_by"] or r["muting"]}
    return [s for s in statuses if s["account"]["id"] not in hidden]


def loader(request: HasApp, viewer: int | None, keep: Callable[[Entity], bool] | None = None) -> Load:
    """Return a `Load` that renders ids for `viewer`, then keeps what the viewer may see and `keep` accepts."""

    async def load(ids: list[int]) -> list[Entity]:
        statuses = await viewable(request, viewer, await render.statuses(request, viewer, ids, "public"))
        return statuses if keep is None else [s for s in statuses if keep(s)]

    return load


@dataclass(frozen=True, slots=True)
class TagQuery:
    """A hashtag timeline's terms: the tag or any of `any_of`, with all of `all_of` and none of `none_of`."""

    tags: tuple[str, ...]
    all_of: frozenset[str]
    none_of: frozenset[str]
    local: bool
    remote: bool
    only_media: bool

    @classmethod
    def parse(cls, hashtag: str, params: Params) -> TagQuery:
        """Read the terms of `GET /api/v1/timelines/tag/:hashtag`."""

        def names(term: str) -> list[str]:
            return [normalize_tag(n) for n in params.strings(term, most=100)[:TAGS_PER_TERM] if n.strip("# ")]

        local, remote = params.boolean("local"), params.boolean("remote")
        return cls(
            tags=tuple(dict.fromkeys([normalize_tag(hashtag), *names("any")])),
            all_of=frozenset(names("all")),
            none_of=frozenset(names("none")),
            local=local and not remote,  # both at once: everything, as Mastodon's TagFeed
            remote=remote and not local,
            only_media=params.boolean("only_media"),
        )

    def keeps(self, status: Entity) -> bool:
        """Whether a rendered status matches the terms the module did not apply."""
        tags = {t["name"] for t in status["tags"]}
        if not self.all_of <= tags or not self.none_of.isdisjoint(tags):
            return False
        if self.only_media and not status["media_attachments"]:
            return False
        return not self.remote or "@" in status["account"]["acct"]
