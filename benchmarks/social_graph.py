"""A power-law social graph like Twitter's: most accounts follow ~average, a few are followed by everyone.

Out-degrees (how many accounts each follows) are log-normal around the profile's average; whom they follow
is drawn by Zipf popularity (rank^-1), so the most popular accounts are followed by a large share of all
accounts — the celebrities whose posts fan out to hundreds of thousands of home timelines. Everything is
drawn from a seeded numpy generator: the same profile gives the same graph every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GraphProfile:
    """How big a graph to build."""

    name: str
    accounts: int
    average_fanout: float
    zipf_exponent: float = 1.0
    degree_sigma: float = 1.0  # log-normal spread of out-degrees


PROFILES = {
    "tiny": GraphProfile("tiny", accounts=1_000, average_fanout=20),
    "small": GraphProfile("small", accounts=10_000, average_fanout=100),
    "medium": GraphProfile("medium", accounts=50_000, average_fanout=403),
}


def out_degrees(profile: GraphProfile, rng: np.random.Generator) -> np.ndarray:
    """How many accounts each account follows: log-normal with the profile's mean, within [1, accounts-1]."""
    sigma = profile.degree_sigma
    mu = np.log(profile.average_fanout) - sigma * sigma / 2  # so that the mean is the average
    degrees = np.rint(rng.lognormal(mu, sigma, profile.accounts)).astype(np.int64)
    return np.clip(degrees, 1, profile.accounts - 1)


def follow_edges(profile: GraphProfile, seed: int = 42) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(follower, followees)` for every account: distinct followees, never the follower itself."""
    rng = np.random.default_rng(seed)
    n = profile.accounts
    weights = 1.0 / np.arange(1, n + 1) ** profile.zipf_exponent
    cumulative = np.cumsum(weights / weights.sum())
    for follower, degree in enumerate(out_degrees(profile, rng)):
        chosen = np.empty(0, dtype=np.int64)
        draw = int(degree * 1.5) + 8
        while chosen.size < degree:  # oversample by popularity, keep distinct non-self picks
            picks = np.searchsorted(cumulative, rng.random(draw), side="right")
            picks = np.minimum(picks, n - 1)
            picks = picks[picks != follower]
            chosen = np.unique(np.concatenate([chosen, picks]))
            draw *= 2
        yield follower, rng.permutation(chosen)[:degree]


def degree_summary(followers_per_account: np.ndarray) -> dict[str, float]:
    """Average and largest follower counts, and the share of accounts following the most followed one."""
    accounts = followers_per_account.size
    return {
        "avg_fanout": round(float(followers_per_account.mean()), 1),
        "max_followers": int(followers_per_account.max()),
        "max_followers_share": round(float(followers_per_account.max()) / accounts, 3),
    }
