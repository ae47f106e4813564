"""Trend scores from bucketed counts, after Mastodon's Trends::Tags, computed when asked.

Mastodon re-scores every few minutes: observed = distinct accounts today, expected = distinct accounts
yesterday (at least 1); below `threshold` accounts or below expectation the score is 0, else
(observed - expected)^2 / expected. It keeps the highest score of the last `cooldown` with its time and
reports it decayed by half every `halflife`, while it stays at or above `decay_threshold`.

Here queries may not write, and a stored maximum would depend on when batches ran (not replay-safe). So
the maximum is recomputed from the buckets at query time: the score is evaluated at the end of each of the
last `cooldown` hours (observed = that day's accounts up to that hour, a union of hourly sketches;
expected = the whole previous day's), the best is decayed from its hour to `now_ms`. The result depends
only on the buckets and the query clock: deterministic under a FakeClock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.trends import sketch

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class TrendOptions:
    """Mastodon's defaults: 5 accounts, a 2 h half-life, a 2 day cooldown, shown while the score is >= 1."""

    threshold: int = 5
    decay_threshold: float = 1.0
    halflife_ms: int = 2 * HOUR_MS
    cooldown_ms: int = 2 * DAY_MS


def raw_score(observed: int, expected: int, threshold: int) -> float:
    """Return Mastodon's score for `observed` accounts against `expected` ones."""
    expected = max(expected, 1)
    if observed < threshold or observed < expected:
        return 0.0
    return (observed - expected) ** 2 / expected


def decayed_score(
    hours: dict[int, dict[str, Any]], days: dict[int, dict[str, Any]], now_ms: int, options: TrendOptions
) -> float:
    """Return the best score of the cooldown window, decayed to `now_ms` (buckets keyed by hour and day index)."""
    now_hour = now_ms // HOUR_MS
    first_hour = (now_ms - options.cooldown_ms) // HOUR_MS
    best, best_at = 0.0, now_ms
    day_so_far: tuple[int, sketch.Sketch] = (-1, sketch.empty())
    for hour in range(first_hour - (first_hour * HOUR_MS % DAY_MS) // HOUR_MS, now_hour + 1):
        day = hour * HOUR_MS // DAY_MS
        if day != day_so_far[0]:
            day_so_far = (day, sketch.empty())
        bucket = hours.get(hour)
        if bucket is not None:
            day_so_far = (day, sketch.union([day_so_far[1], bucket["accounts"]]))
        if hour < first_hour:
            continue  # only accumulating the day so far
        previous = days.get(day - 1)
        expected = sketch.count(previous["accounts"]) if previous else 0
        score = raw_score(sketch.count(day_so_far[1]), expected, options.threshold)
        if score > best:  # an equal later score does not refresh the time: decay runs from the first
            best, best_at = score, min(now_ms, (hour + 1) * HOUR_MS)
    return best * 0.5 ** ((now_ms - best_at) / options.halflife_ms) if best else 0.0


def history(days: dict[int, dict[str, Any]], now_ms: int, count: int = 7) -> list[dict[str, str]]:
    """Return Mastodon's `history`: the last `count` days, newest first, as strings."""
    today = now_ms // DAY_MS
    out = []
    for day in range(today, today - count, -1):
        bucket = days.get(day)
        uses = bucket["uses"] if bucket else 0
        accounts = sketch.count(bucket["accounts"]) if bucket else 0
        out.append({"day": str(day * DAY_MS // 1000), "uses": str(uses), "accounts": str(accounts)})
    return out
