"""Distinct-account sketches and Mastodon-style scores, as pure functions."""

from __future__ import annotations

import random

from modules.trends import sketch
from modules.trends.scoring import DAY_MS, HOUR_MS, TrendOptions, decayed_score, history, raw_score
from modules.trends.text import links


def test_small_sets_are_exact_and_large_ones_estimated_within_a_few_percent() -> None:
    small = sketch.add(None, [3, 1, 2, 3])
    assert small == {"exact": [1, 2, 3]}
    assert sketch.count(small) == 3
    big = sketch.add(None, range(1, 20_001))
    assert set(big) == {"hll"} and len(big["hll"]) == sketch.REGISTERS
    assert abs(sketch.count(big) - 20_000) / 20_000 < 0.06
    assert sketch.count(sketch.add(None, range(1, sketch.EXACT_LIMIT + 1))) == sketch.EXACT_LIMIT


def test_sketches_depend_only_on_the_set_added() -> None:
    accounts = list(range(1, 500))
    shuffled = accounts[:]
    random.Random(3).shuffle(shuffled)
    one_by_one = None
    for account in shuffled:
        one_by_one = sketch.add(one_by_one, [account])
    assert one_by_one == sketch.add(None, accounts)
    halves = sketch.union([sketch.add(None, accounts[:30]), sketch.add(None, accounts[20:])])
    assert halves == sketch.add(None, accounts)
    assert sketch.union([sketch.add(None, [1, 2]), sketch.add(None, [2, 3])]) == {"exact": [1, 2, 3]}


def test_raw_score_needs_the_threshold_and_growth() -> None:
    assert raw_score(4, 0, threshold=5) == 0.0
    assert raw_score(5, 0, threshold=5) == 16.0  # expected counts as at least 1
    assert raw_score(5, 6, threshold=5) == 0.0
    assert raw_score(10, 5, threshold=5) == 5.0


def test_the_best_score_decays_by_half_every_halflife_and_ends_after_the_cooldown() -> None:
    options = TrendOptions(threshold=3)
    day = 20_000
    hour = day * 24 + 5
    hours = {hour: {"uses": 4, "accounts": sketch.add(None, [1, 2, 3, 4])}}
    days = {day: hours[hour], day - 1: {"uses": 1, "accounts": sketch.add(None, [9])}}
    at_peak = hour * HOUR_MS + 600_000
    assert decayed_score(hours, days, at_peak, options) == 9.0
    two_hours_after = (hour + 1) * HOUR_MS + 2 * HOUR_MS
    assert decayed_score(hours, days, two_hours_after, options) == 4.5
    assert decayed_score(hours, days, at_peak + options.cooldown_ms + DAY_MS, options) == 0.0


def test_history_lists_seven_days_newest_first_as_strings() -> None:
    days = {100: {"uses": 3, "accounts": sketch.add(None, [1, 2])}}
    rows = history(days, 101 * DAY_MS + 5)
    assert len(rows) == 7
    assert rows[0] == {"day": str(101 * 86_400), "uses": "0", "accounts": "0"}
    assert rows[1] == {"day": str(100 * 86_400), "uses": "3", "accounts": "2"}


def test_links_are_normalized_and_stripped_of_trailing_punctuation() -> None:
    text = "see HTTPS://Example.COM/Path?q=1#frag, and (http://a.org) twice https://example.com/Path?q=1."
    assert links(text) == ["https://example.com/Path?q=1", "http://a.org/"]
