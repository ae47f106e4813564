"""Rate-limit rules and their defaults, which are Mastodon's (its Rack::Attack throttles and RateLimiter families).

A rule counts the requests that match it (method, path pattern, paging) per key, in fixed windows aligned
to the epoch: `by` says what the key is. `token` and `account` need a valid bearer token (a user's token for
`account`); `ip` is the client address (IPv6 by its /64, as Mastodon); `anonymous_ip` is the address of a
request without a user token. A request no rule can key (a `token` rule without a token) is not counted.

    rule                    limit / period  by            matches
    api_per_token           300 / 5 min     token         /api/*
    api_per_account         1,500 / 5 min   account       /api/*
    api_anonymous           300 / 5 min     anonymous_ip  /api/*
    media_uploads           30 / 30 min     account       POST /api/v*/media
    sign_ups                5 / 30 min      ip            POST /api/v1/accounts
    deletes                 30 / 30 min     account       DELETE /api/v1/statuses/:id, POST .../:id/unreblog
    statuses                300 / 3 h       account       POST /api/v1/statuses (Mastodon's `statuses` family)
    reports                 400 / 24 h      account       POST /api/v1/reports (Mastodon's `reports` family)
    paging_per_account      300 / 15 min    account       /api/* with max_id, min_id, since_id or page
    paging_anonymous        300 / 15 min    anonymous_ip  the same, without a user token
    sign_in_attempts        25 / 5 min      ip            POST /oauth/authorize (the login form)

Mastodon counts a `statuses` or `reports` family hit only when the record is created; these count requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

MINUTE = 60
HOUR = 60 * MINUTE
API = r"/api/.*"

KeyKind = Literal["token", "account", "ip", "anonymous_ip"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One throttle: at most `limit` matching requests per key in each `period_s` window."""

    name: str
    limit: int
    period_s: int
    by: KeyKind
    path: str  # a regular expression the whole path must match
    methods: frozenset[str] = frozenset()  # empty: every method
    paging: bool = False  # only requests that page (max_id, min_id, since_id or page in the query)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_s < 1:
            raise ValueError(f"rate limit {self.name!r} needs a positive limit and period")
        object.__setattr__(self, "pattern", re.compile(self.path))

    def matches(self, method: str, path: str, paging: bool) -> bool:
        """Whether a request with `method`, `path` (and paging or not) counts against this rule."""
        if self.methods and method not in self.methods:
            return False
        return (paging or not self.paging) and self.pattern.fullmatch(path) is not None


POST, DELETE = frozenset({"POST"}), frozenset({"DELETE"})

MASTODON_RULES: tuple[Rule, ...] = (
    Rule("api_per_token", 300, 5 * MINUTE, "token", API),
    Rule("api_per_account", 1_500, 5 * MINUTE, "account", API),
    Rule("api_anonymous", 300, 5 * MINUTE, "anonymous_ip", API),
    Rule("media_uploads", 30, 30 * MINUTE, "account", r"/api/v\d+/media/?", POST),
    Rule("sign_ups", 5, 30 * MINUTE, "ip", r"/api/v1/accounts/?", POST),
    # One counter for both, as Mastodon's; the other method of each path is no route (404 / 405).
    Rule("deletes", 30, 30 * MINUTE, "account", r"/api/v1/statuses/\d+(/unreblog)?/?", POST | DELETE),
    Rule("statuses", 300, 3 * HOUR, "account", r"/api/v1/statuses/?", POST),
    Rule("reports", 400, 24 * HOUR, "account", r"/api/v1/reports/?", POST),
    Rule("paging_per_account", 300, 15 * MINUTE, "account", API, paging=True),
    Rule("paging_anonymous", 300, 15 * MINUTE, "anonymous_ip", API, paging=True),
    Rule("sign_in_attempts", 25, 5 * MINUTE, "ip", r"/oauth/authorize/?", POST),
)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Whether and how the API throttles; `exempt` lists networks (CIDR) never throttled."""

    enabled: bool = True
    rules: tuple[Rule, ...] = MASTODON_RULES
    exempt: tuple[str, ...] = ()


OFF = RateLimits(enabled=False)
