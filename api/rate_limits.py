"""Rate limits: fixed-window counters in memory and the middleware that applies them (rules: `rate_limit_rules`).

Each rule counts matching requests per key in windows aligned to the epoch (`now // period`), as Mastodon's
Rack::Attack does; a request over any rule's limit gets 429 `{"error": "Too many requests"}`. Every counted
response carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (ISO 8601, the end of the window) of the
rule closest to its limit, as Mastodon reports its most limited throttle.

The counters live in this API process only: several API processes behind one balancer each allow the
limit (a shared store would be needed to enforce it across them). The client address is the socket's
peer: behind a reverse proxy, exempt nothing and mind that every client shares the proxy's address.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from api.config import CLIENT, CONFIG, Handler
from api.rate_limit_rules import KeyKind, RateLimits, Rule
from api.responses import json_response
from api.scopes import AUTH, bearer_token, digest

PAGING = ("max_id", "min_id", "since_id", "page")
SWEEP_EVERY_S = 60

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Caller:
    """What a request may be keyed by: its address (IPv6 by /64), token digest and user account."""

    ip: str
    token: str | None = None
    account: int | None = None

    def key(self, kind: KeyKind) -> str | None:
        """Return this caller's key for a rule keyed by `kind`, None if the rule cannot key it."""
        if kind == "token":
            return self.token
        if kind == "account":
            return None if self.account is None else str(self.account)
        if kind == "anonymous_ip" and self.account is not None:
            return None
        return self.ip


@dataclass(frozen=True, slots=True)
class Verdict:
    """A counted request: the rule closest to its limit, the count in its window, and the window's end."""

    rule: Rule
    count: int
    reset_s: int

    @property
    def exceeded(self) -> bool:
        """Whether this request is over the rule's limit."""
        return self.count > self.rule.limit

    def headers(self) -> dict[str, str]:
        """The `X-RateLimit-*` headers that describe this verdict."""
        reset = datetime.fromtimestamp(self.reset_s, UTC).isoformat(timespec="microseconds")
        return {
            "X-RateLimit-Limit": str(self.rule.limit),
            "X-RateLimit-Remaining": str(max(0, self.rule.limit - self.count)),
            "X-RateLimit-Reset": reset.replace("+00:00", "Z"),
        }


class RateLimiter:
    """Fixed-window request counters per (rule, key), in memory; windows that ended are swept every minute."""

    def __init__(self, limits: RateLimits, clock: Clock = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._exempt = tuple(ipaddress.ip_network(network, strict=False) for network in limits.exempt)
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}  # (rule, key) -> (window, count)
        self._next_sweep = 0.0

    def exempt(self, ip: str) -> bool:
        """Whether requests from `ip` are never throttled."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self._exempt)

    def rules_for(self, method: str, path: str, paging: bool) -> list[Rule]:
        """Return the rules a request counts against."""
        return [rule for rule in self.limits.rules if rule.matches(method, path, paging)]

    def hit(self, rules: list[Rule], caller: Caller) -> Verdict | None:
        """Count one request against every rule that can key `caller`; return the tightest verdict."""
        now = self._clock()
        self._sweep(now)
        verdicts = [self._count(rule, key, now) for rule in rules if (key := caller.key(rule.by)) is not None]
        if not verdicts:
            return None
        return min(verdicts, key=lambda v: (not v.exceeded, v.rule.limit - v.count))

    def _count(self, rule: Rule, key: str, now: float) -> Verdict:
        window = int(now) // rule.period_s
        started, count = self._windows.get((rule.name, key), (window, 0))
        count = count + 1 if started == window else 1
        self._windows[(rule.name, key)] = (window, count)
        return Verdict(rule, count, (window + 1) * rule.period_s)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY_S
        periods = {rule.name: rule.period_s for rule in self.limits.rules}
        ended = [key for key, (window, _) in self._windows.items() if window < int(now) // periods.get(key[0], 1)]
        for key in ended:
            del self._windows[key]


LIMITER = web.AppKey("rate_limiter", RateLimiter)


def install(app: web.Application, clock: Clock = time.time) -> None:
    """Give `app` a limiter for its configured rate limits (the middleware does nothing when they are off)."""
    app[LIMITER] = RateLimiter(app[CONFIG].rate_limits, clock)


@web.middleware
async def rate_limited(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request against the rules it matches: 429 past a limit, `X-RateLimit-*` headers otherwise."""
    limiter = request.app[LIMITER]
    paging = any(name in request.query for name in PAGING)
    rules = limiter.rules_for(request.method, request.path, paging) if limiter.limits.enabled else []
    ip = request.remote or "unknown"
    if not rules or limiter.exempt(ip):
        return await handler(request)
    verdict = limiter.hit(rules, await caller_of(request, ip))
    if verdict is None:
        return await handler(request)
    if verdict.exceeded:
        return json_response({"error": "Too many requests"}, status=429, headers=verdict.headers())
    response = await handler(request)
    if not response.prepared:  # a stream (WebSocket, SSE) has sent its headers already
        response.headers.update(verdict.headers())
    return response


async def caller_of(request: web.Request, ip: str) -> Caller:
    """Return who the request comes from: a valid token counts by token (and its user), else by address."""
    address = _throttled_address(ip)
    token = bearer_token(request)
    if token is None:
        return Caller(address)
    token_hash = digest(token)
    found = await request.app[CLIENT].query(AUTH, "token", token_hash)
    if found is None:  # an invalid token must not buy a fresh bucket: it counts by address
        return Caller(address)
    return Caller(address, token_hash, found["account"])


def _throttled_address(ip: str) -> str:
    """Return the address a client is counted by: itself, or its /64 for IPv6 (one host often holds a /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)
