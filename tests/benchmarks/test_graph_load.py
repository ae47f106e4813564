"""`tusk bench graph --profile tiny`: the power-law graph loads through the real depots, counts intact."""

from __future__ import annotations

import numpy as np

from benchmarks.graph_load import run_graph_benchmark
from benchmarks.social_graph import PROFILES, degree_summary, follow_edges


def test_the_graph_is_power_law_and_seeded() -> None:
    profile = PROFILES["small"]
    counts = np.zeros(profile.accounts, dtype=np.int64)
    edges = 0
    for follower, followees in follow_edges(profile):
        assert follower not in followees and np.unique(followees).size == followees.size
        counts[followees] += 1
        edges += followees.size
    summary = degree_summary(counts)
    assert 90 <= summary["avg_fanout"] <= 110  # the profile's ~100
    assert summary["max_followers_share"] >= 0.2  # a celebrity followed by a fifth of everyone or more
    again = next(iter(follow_edges(profile)))[1]
    assert np.array_equal(again, next(iter(follow_edges(profile)))[1])  # same seed, same graph


def test_tiny_profile_loads_with_every_follower_count_right() -> None:
    report = run_graph_benchmark("tiny", tasks=4)
    assert report["follower_count_mismatches"] == 0
    assert report["follows"] > 15_000 and report["follows_per_s"] > 0 and report["follows_per_cpu_s"] > 0
