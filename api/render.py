"""Reads that feed the entities: accounts with their counts, statuses hydrated by core for a viewer.

These are the only places the API gathers more than one module read for a response; handlers call one of
them (or one module query) and serialize.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiohttp import web

from api import entities, status_entities
from api.config import CLIENT, CONFIG
from api.entities import Entity, StatusParts
from api.media_entity import attachment
from api.status_filters import apply_filters

CORE = "core"
RELATIONSHIPS = "relationships"


class HasApp(Protocol):
    """What these reads need of a request: its application (the streaming hub, outside a request, has one too)."""

    @property
    def app(self) -> web.Application:
        """The application holding the cluster client and the config."""
        ...


async def account_counts(request: HasApp, account_id: int) -> dict[str, int]:
    """Return the account's followers, following and statuses counts."""
    client = request.app[CLIENT]
    counts, statuses = await asyncio.gather(
        client.query(RELATIONSHIPS, "counts", account_id),
        client.pstate(CORE, "$$author_statuses").size(account_id),
    )
    return {**counts, "statuses_count": statuses}


async def account(request: web.Request, account_id: int, *, credential: bool = False) -> Entity | None:
    """Return the rendered Account `account_id`, or None if there is no such account."""
    found = await request.app[CLIENT].query(CORE, "account", account_id)
    if found is None:
        return None
    counts = await account_counts(request, account_id)
    if not credential:
        return entities.account(request.app[CONFIG], found, counts)
    pending = await request.app[CLIENT].pstate(RELATIONSHIPS, "$$follow_requests").size(account_id)
    return entities.credential_account(request.app[CONFIG], found, {**counts, "follow_requests_count": pending})


async def accounts(request: HasApp, account_ids: list[int]) -> list[Entity]:
    """Return the Accounts among `account_ids` that exist, rendered in order."""
    if not account_ids:
        return []
    found: dict[int, dict[str, Any]] = await request.app[CLIENT].query(CORE, "accounts_here", account_ids)
    present = [i for i in dict.fromkeys(account_ids) if i in found]
    counts = await asyncio.gather(*(account_counts(request, i) for i in present))
    config = request.app[CONFIG]
    rendered = {i: entities.account(config, found[i], c) for i, c in zip(present, counts, strict=True)}
    return [rendered[i] for i in account_ids if i in rendered]


async def statuses(
    request: HasApp, viewer: int | None, status_ids: list[int], context: str | None = None
) -> list[Entity]:
    """Return the live statuses among `status_ids` that `viewer` may see, rendered in order.

    With a filter `context` (`status_filters.CONTEXTS`), the viewer's filters apply: hidden statuses are
    left out and the others carry their `filtered` results.
    """
    if not status_ids:
        return []
    client = request.app[CLIENT]
    hydrated: list[dict[str, Any]] = await client.query(CORE, "statuses", viewer, status_ids, now_ms(request))
    parts = await status_parts(request, viewer, hydrated)
    config = request.app[CONFIG]
    shown = [(s, entities.status(config, s, parts)) for s in hydrated if s["author"] in parts.accounts]
    if viewer is None or context is None:
        return [entity for _, entity in shown]
    return await apply_filters(request, viewer, context, shown)


async def status_parts(request: HasApp, viewer: int | None, hydrated: list[dict[str, Any]]) -> StatusParts:
    """Render what `hydrated` statuses (and the originals they boost) refer to: one read per kind of thing."""
    cards = hydrated + [s["reblog"] for s in hydrated if s.get("reblog") is not None]
    client, config = request.app[CLIENT], request.app[CONFIG]
    authors = {s["author"]: s["account"] for s in cards if s.get("account") is not None}
    mentioned_ids = sorted({m for s in cards for m in s.get("mentions", [])})
    media_ids = sorted({m for s in cards for m in s.get("media", [])})
    poll_ids = [s["id"] for s in cards if s.get("poll") is not None]
    follow_counts, mentioned, media, polls = await asyncio.gather(
        asyncio.gather(*(client.query(RELATIONSHIPS, "counts", author) for author in authors)),
        client.query(CORE, "accounts_here", mentioned_ids) if mentioned_ids else _nothing(),
        client.query(CORE, "media", viewer, media_ids) if media_ids else _nothing(),
        asyncio.gather(*(poll(request, viewer, poll_id) for poll_id in poll_ids)),
    )
    return StatusParts(
        accounts={
            author: entities.account(config, found, {**counts, "statuses_count": found.get("statuses_count", 0)})
            for (author, found), counts in zip(authors.items(), follow_counts, strict=True)
        },
        mentioned={i: status_entities.mention(config.base_url, a) for i, a in (mentioned or {}).items()},
        media={int(m["id"]): attachment(m) for m in media or []},
        polls={int(p["id"]): status_entities.poll(p, signed_in=viewer is not None) for p in polls if p is not None},
        signed_in=viewer is not None,
    )


async def poll(request: HasApp, viewer: int | None, poll_id: int) -> dict[str, Any] | None:
    """Return core's poll as `viewer` sees it (core hides the totals a poll hides, from its author too)."""
    found: dict[str, Any] | None = await request.app[CLIENT].query(CORE, "poll", viewer, poll_id)
    return found


async def media(request: HasApp, viewer: int | None, media_ids: list[int]) -> dict[int, Entity]:
    """Return the MediaAttachments among `media_ids` that exist, by id."""
    if not media_ids:
        return {}
    found = await request.app[CLIENT].query(CORE, "media", viewer, media_ids)
    return {int(m["id"]): attachment(m) for m in found}


def now_ms(request: HasApp) -> int:
    """Return the time by the cluster's clock (a test's FakeClock: mutes and polls expire by it)."""
    return int(request.app[CLIENT].clock.now_ms())


async def _nothing() -> None:
    return None
