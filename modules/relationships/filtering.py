"""Apply an account's filters to one status: pure functions, no engine, no clock but the one passed in.

Mastodon's rules, kept here:

- a filter applies only in the contexts it lists, and never once expired (`expires_at <= now_ms`);
- the text searched is the status' spoiler text, its plain text, then any poll options and media
  descriptions, joined by blank lines (Mastodon's `searchable_text`);
- keywords match case-insensitively; a `whole_word` keyword gets a word boundary on each side where the
  keyword itself begins or ends with a word character (so "#tag" still matches after a space);
- a filter's keywords form one alternation; `keyword_matches` holds the first (leftmost) match's text;
- `status_matches` holds the ids among the status and the status it boosts that the filter lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

FilterResult = dict[str, Any]  # {"filter", "keyword_matches": [str] | None, "status_matches": [int] | None}


def filter_results(
    filters: Iterable[dict[str, Any]],
    *,
    status_id: int,
    text: str,
    context: str,
    now_ms: int,
    spoiler_text: str = "",
    reblog_of_id: int | None = None,
    extra_texts: Sequence[str] = (),
) -> list[FilterResult]:
    """Return Mastodon's FilterResults of `filters` (as the `filters` query returns them) for one status."""
    searchable = searchable_text(text, spoiler_text, extra_texts)
    status_ids = {status_id} if reblog_of_id is None else {status_id, reblog_of_id}
    results = []
    for found in filters:
        if context not in found["context"] or is_expired(found, now_ms):
            continue
        keyword_matches = _keyword_matches(found["keywords"], searchable)
        status_matches = sorted(s["status_id"] for s in found["statuses"] if s["status_id"] in status_ids)
        if keyword_matches or status_matches:
            results.append(
                {"filter": found, "keyword_matches": keyword_matches, "status_matches": status_matches or None}
            )
    return results


def hidden(results: Iterable[FilterResult]) -> bool:
    """Whether any result's filter hides the status (rather than warning or blurring)."""
    return any(result["filter"]["filter_action"] == "hide" for result in results)


def is_expired(found: dict[str, Any], now_ms: int) -> bool:
    """Whether a filter's expiry has passed at `now_ms`."""
    expires_at = found.get("expires_at")
    return expires_at is not None and expires_at <= now_ms


def searchable_text(text: str, spoiler_text: str = "", extra_texts: Sequence[str] = ()) -> str:
    """Return the text filters search: spoiler, body, then extras, blank-line separated, empties left out."""
    return "\n\n".join(part for part in (spoiler_text, text, *extra_texts) if part)


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """Return the regular expression of one keyword (case is handled by the compiled alternation)."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w\Z", keyword) else ""
    return f"{start}{escaped}{end}"


def _keyword_matches(keywords: Sequence[dict[str, Any]], text: str) -> list[str] | None:
    if not keywords or not text:
        return None
    match = _alternation(tuple((k["keyword"], bool(k["whole_word"])) for k in keywords)).search(text)
    return None if match is None else [match.group(0)]


@lru_cache(maxsize=4_096)
def _alternation(keywords: tuple[tuple[str, bool], ...]) -> re.Pattern[str]:
    return re.compile("|".join(keyword_pattern(k, whole) for k, whole in keywords), re.IGNORECASE)
