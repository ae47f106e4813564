"""Apply the viewer's filters (v2) to rendered statuses: `hide` drops a status, `warn` / `blur` mark it.

Mastodon applies filters where statuses are shown, by context: `home` (home and list timelines),
`public` (public and hashtag timelines), `thread` (a status and its context), `account` (profiles) and
`notifications`. The matching rules live in one pure function of the relationships module
(`modules.relationships.filtering`), so the streaming API and any later caller apply the same ones. A
boost is filtered by the status it boosts (`status.proper` in Mastodon), and a filtered-status entry for
either id matches.
"""

from __future__ import annotations

from typing import Any

from api.config import CLIENT
from api.entities import Entity
from api.list_entities import filter_entity
from api.lookups import now_ms
from modules.core.ids import render
from modules.relationships.filtering import filter_results, hidden

CONTEXTS = ("home", "public", "thread", "account", "notifications")
RELATIONSHIPS = "relationships"


async def apply_filters(
    request: Any, viewer: int, context: str, shown: list[tuple[dict[str, Any], Entity]]
) -> list[Entity]:
    """Return the rendered statuses of `shown` ((hydrated, rendered) pairs) that `viewer`'s filters let through."""
    filters: list[dict[str, Any]] = await request.app[CLIENT].query(RELATIONSHIPS, "filters", viewer)
    if not filters:
        return [entity for _, entity in shown]
    now = now_ms(request)
    kept = []
    for hydrated, entity in shown:
        proper = hydrated.get("reblog") or hydrated
        results = filter_results(
            filters,
            status_id=int(proper["id"]),
            text=str(proper.get("text", "")),
            context=context,
            now_ms=now,
            spoiler_text=str(proper.get("spoiler_text") or ""),
            reblog_of_id=int(hydrated["id"]) if proper is not hydrated else None,
        )
        if hidden(results):
            continue
        entity["filtered"] = [filter_result(result) for result in results]
        kept.append(entity)
    return kept


def filter_result(result: dict[str, Any]) -> Entity:
    """Render Mastodon's FilterResult."""
    statuses = result["status_matches"]
    return {
        "filter": filter_entity(result["filter"]),
        "keyword_matches": result["keyword_matches"],
        "status_matches": None if statuses is None else [render(status_id) for status_id in statuses],
    }
