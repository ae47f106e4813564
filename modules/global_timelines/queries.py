"""Reads of the public timelines: each task pages its own parts, the caller merges (see `timelines`)."""

from __future__ import annotations

from typing import Any

from modules.core.ids import task_key
from modules.global_timelines.paging import Page, merge, scan
from modules.global_timelines.timelines import TIMELINES
from topology.context import ReadContext

MODULE = "global_timelines"


def public_timeline(
    ctx: ReadContext,
    scope: str = "federated",
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = 20,
    only_media: bool = False,
    with_replies: bool = False,
) -> list[int]:
    """Return a page of status ids, newest first: scope "local", "remote" or "federated" (both)."""
    if scope not in ("local", "remote", "federated"):
        raise ValueError(f"scope must be 'local', 'remote' or 'federated', got {scope!r}")
    page = Page(max_id, since_id, min_id, limit)
    filters = {"only_media": only_media, "with_replies": with_replies}
    parts: list[list[int]] = ctx.query(
        MODULE, "public_here", scope, page.max_id, page.since_id, page.min_id, page.size, filters
    )
    return merge(parts, page)


def public_here(
    ctx: ReadContext,
    scope: str,
    max_id: int | None,
    since_id: int | None,
    min_id: int | None,
    limit: int,
    filters: dict[str, bool],
) -> list[list[int]]:
    """Return this task's page of each timeline in `scope` (runs on every task; results are concatenated)."""
    page = Page(max_id, since_id, min_id, limit)
    timelines = ctx.pstate(TIMELINES)
    scopes = ("local", "remote") if scope == "federated" else (scope,)

    def keep(entry: dict[str, Any]) -> bool:
        if "deleted" in entry:
            return False
        if filters.get("only_media") and not entry["media"]:
            return False
        return bool(filters.get("with_replies")) or not entry["reply"]

    return [scan(timelines, task_key(s, ctx.task, ctx.tasks, ctx.task_of), page, keep) for s in scopes]


def concat(results: list[list[list[int]]]) -> list[list[int]]:
    """Concatenate the per-task lists of pages."""
    return [part for result in results for part in result]
