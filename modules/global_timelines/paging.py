"""Mastodon's id paging over sorted id-keyed collections, and the merge of per-task pages.

`max_id` is an exclusive upper bound; `since_id` an exclusive lower bound read newest first; `min_id` an
exclusive lower bound that returns the page just above it (read oldest first, returned newest first). Ids
are time-ordered (`modules.core.ids`), so each bound is a range read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


@dataclass(frozen=True, slots=True)
class Page:
    """Which ids a page holds: bounds and a limit (clamped to Mastodon's 1..40)."""

    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def ascending(self) -> bool:
        """Whether the page is read oldest first (a `min_id` page)."""
        return self.min_id is not None

    @property
    def size(self) -> int:
        """The limit, clamped."""
        return max(1, min(int(self.limit), MAX_LIMIT))

    def bounds(self) -> tuple[int | None, int | None]:
        """Return `(start, end)`: the inclusive lower and exclusive upper item keys (None: unbounded)."""
        low = self.min_id if self.min_id is not None else self.since_id
        return (None if low is None else low + 1, self.max_id)


def scan(view: Any, key: object, page: Page, keep: Callable[[Any], bool]) -> list[int]:
    """Return up to `page.size` item keys of the sorted map at `key` within the bounds whose value `keep`s.

    The result is in read order (newest first, or oldest first for a `min_id` page). Rejected values
    (tombstones, filtered entries) are skipped by reading further, a chunk at a time.
    """
    start, end = page.bounds()
    chunk = page.size * 2
    found: list[int] = []
    while len(found) < page.size:
        rows = view.range(key, start, end, reverse=not page.ascending, limit=chunk)
        found += [int(item) for item, value in rows if keep(value)]
        if len(rows) < chunk:
            break
        if page.ascending:
            start = int(rows[-1][0]) + 1
        else:
            end = int(rows[-1][0])
    return found[: page.size]


def merge(parts: list[list[int]], page: Page) -> list[int]:
    """Merge per-task (or per-timeline) results into one page, newest first."""
    ids = sorted({i for part in parts for i in part}, reverse=not page.ascending)[: page.size]
    return sorted(ids, reverse=True)
