"""Rate limits: fixed windows per token / account / address, Mastodon's headers, 429, exemptions, switched off."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.rate_limit_rules import MASTODON_RULES, OFF, RateLimits, Rule
from api.rate_limits import Caller, RateLimiter, install
from cluster.inprocess import InProcessCluster
from cluster.serve import launch
from cluster.testing import FakeClock
from tests.api.support import CHEAP, app_token, bearer, make_app, signup

START = 1_700_000_100.0  # 2023-11-14T22:15:00Z: a multiple of 300 s, so windows start here


class Now:
    """A wall clock that moves only when told to."""

    def __init__(self, seconds: float = START) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


@asynccontextmanager
async def limited(path: Path, limits: RateLimits, now: Now) -> AsyncIterator[TestClient[Any, Any]]:
    """Yield a client of the API with `limits` counted on the clock `now`."""
    async with InProcessCluster(path, store="memory", clock=FakeClock()) as cluster:
        await launch(cluster)
        app = build_app(cluster, dataclasses.replace(CHEAP, rate_limits=limits))
        install(app, now)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client


def rule(name: str, limit: int, by: str = "anonymous_ip", path: str = r"/api/.*", **options: Any) -> Rule:
    """A rule over a 300 s window."""
    return Rule(name, limit, 300, by, path, **options)  # type: ignore[arg-type]


def test_a_window_counts_down_then_refuses_until_it_ends() -> None:
    now = Now(START + 10)
    limiter = RateLimiter(RateLimits(rules=(rule("api", 2),)), now)
    caller = Caller("10.0.0.1")
    verdicts = [limiter.hit(list(limiter.limits.rules), caller) for _ in range(3)]
    assert [v.headers()["X-RateLimit-Remaining"] for v in verdicts if v] == ["1", "0", "0"]
    assert [v.exceeded for v in verdicts if v] == [False, False, True]
    assert verdicts[0] and verdicts[0].headers()["X-RateLimit-Reset"] == "2023-11-14T22:20:00.000000Z"
    assert verdicts[0].headers()["X-RateLimit-Limit"] == "2"
    other = limiter.hit(list(limiter.limits.rules), Caller("10.0.0.2"))
    assert other is not None and not other.exceeded  # another address has its own count
    now.seconds = START + 300  # the next window
    again = limiter.hit(list(limiter.limits.rules), caller)
    assert again is not None and again.count == 1
    assert again.headers()["X-RateLimit-Reset"] == "2023-11-14T22:25:00.000000Z"


def test_the_tightest_rule_is_reported_and_keys_follow_the_caller() -> None:
    limiter = RateLimiter(RateLimits(rules=(rule("wide", 10, "token"), rule("narrow", 3, "account"))), Now())
    user = Caller("10.0.0.1", token="t1", account=7)
    verdict = limiter.hit(list(limiter.limits.rules), user)
    assert verdict is not None and verdict.rule.name == "narrow"
    assert limiter.hit(list(limiter.limits.rules), Caller("10.0.0.1")) is None  # nothing keys an anonymous caller
    app_only = limiter.hit(list(limiter.limits.rules), Caller("10.0.0.1", token="t2"))
    assert app_only is not None and app_only.rule.name == "wide"
    assert user.key("anonymous_ip") is None and Caller("10.0.0.1").key("anonymous_ip") == "10.0.0.1"


def test_exempt_networks_and_ended_windows_are_forgotten() -> None:
    now = Now()
    limiter = RateLimiter(RateLimits(rules=(rule("api", 1),), exempt=("127.0.0.0/8", "::1/128")), now)
    assert limiter.exempt("127.0.0.1") and limiter.exempt("::1") and not limiter.exempt("10.0.0.1")
    assert not limiter.exempt("not-an-address")
    for n in range(5):
        limiter.hit(list(limiter.limits.rules), Caller(f"10.0.0.{n}"))
    now.seconds += 600
    fresh = limiter.hit(list(limiter.limits.rules), Caller("10.0.0.9"))
    assert fresh is not None and fresh.count == 1
    assert len(limiter._windows) == 1  # the five ended windows were swept


def test_mastodon_defaults_match_its_published_limits() -> None:
    by_name = {r.name: (r.limit, r.period_s, r.by) for r in MASTODON_RULES}
    assert by_name["api_per_token"] == (300, 300, "token")
    assert by_name["api_anonymous"] == (300, 300, "anonymous_ip")
    assert by_name["sign_ups"] == (5, 1800, "ip") and by_name["media_uploads"] == (30, 1800, "account")
    assert by_name["statuses"] == (300, 3 * 3600, "account")
    limiter = RateLimiter(RateLimits())
    assert {r.name for r in limiter.rules_for("POST", "/api/v2/media", False)} >= {"media_uploads", "api_per_token"}
    assert {r.name for r in limiter.rules_for("DELETE", "/api/v1/statuses/12", False)} >= {"deletes"}
    assert {r.name for r in limiter.rules_for("POST", "/api/v1/statuses/12/unreblog", False)} >= {"deletes"}
    assert "paging_anonymous" in {r.name for r in limiter.rules_for("GET", "/api/v1/timelines/home", True)}
    assert limiter.rules_for("GET", "/.well-known/nodeinfo", False) == []


def test_requests_past_the_limit_get_429_with_headers_until_the_window_ends(tmp_path: Path) -> None:
    now = Now()

    async def scenario() -> None:
        async with limited(tmp_path, RateLimits(rules=(rule("api", 3),)), now) as client:
            remaining = []
            for _ in range(3):
                response = await client.get("/api/v1/instance")
                assert response.status == 200
                remaining.append(response.headers["X-RateLimit-Remaining"])
            assert remaining == ["2", "1", "0"]
            refused = await client.get("/api/v1/custom_emojis")
            assert refused.status == 429 and await refused.json() == {"error": "Too many requests"}
            assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Remaining"] == "0"
            assert refused.headers["X-RateLimit-Reset"] == "2023-11-14T22:20:00.000000Z"
            assert "X-RateLimit-Reset" in refused.headers["Access-Control-Expose-Headers"]
            assert refused.headers["Access-Control-Allow-Origin"] == "*"
            unlimited = await client.get("/.well-known/nodeinfo")
            assert unlimited.status == 200 and "X-RateLimit-Limit" not in unlimited.headers
            now.seconds += 300
            assert (await client.get("/api/v1/instance")).headers["X-RateLimit-Remaining"] == "2"

    asyncio.run(scenario())


def test_a_user_token_has_its_own_bucket_and_other_callers_count_by_address(tmp_path: Path) -> None:
    limits = RateLimits(rules=(rule("token", 5, "token"), rule("anonymous", 2)))

    async def scenario() -> None:
        async with limited(tmp_path, limits, Now()) as client:
            app = await app_token(client, await make_app(client))  # POST /api/v1/apps: anonymous request 1
            user = await signup(client, app, "alice")  # an app-only token is anonymous (as Mastodon): request 2
            assert (await client.get("/api/v1/instance")).status == 429
            with_token = await client.get("/api/v1/instance", headers=bearer(user))
            assert with_token.status == 200 and with_token.headers["X-RateLimit-Limit"] == "5"
            for token in (app, "not-a-token"):  # a forged token must not buy a fresh bucket
                refused = await client.get("/api/v1/instance", headers=bearer(token))
                assert refused.status == 429 and refused.headers["X-RateLimit-Limit"] == "2"


def test_sign_ups_are_limited_per_address_by_default(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with limited(tmp_path, RateLimits(), Now()) as client:
            token = await app_token(client, await make_app(client))
            tokens = [await signup(client, token, f"user{n}") for n in range(5)]
            body = {"username": "late", "email": "late@example.org", "password": "late-pass", "agreement": True}
            refused = await client.post("/api/v1/accounts", json=body, headers=bearer(token))
            assert refused.status == 429 and refused.headers["X-RateLimit-Limit"] == "5"
            mine = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(tokens[0]))
            assert mine.status == 200 and mine.headers["X-RateLimit-Limit"] == "300"  # per token, its first request

    asyncio.run(scenario())


def test_switched_off_or_exempt_means_no_counting_and_no_headers(tmp_path: Path) -> None:
    strict = RateLimits(rules=(rule("api", 1),), exempt=("127.0.0.0/8",))

    async def scenario() -> None:
        for index, limits in enumerate((OFF, strict)):
            async with limited(tmp_path / str(index), limits, Now()) as client:
                for _ in range(3):
                    response = await client.get("/api/v1/instance")
                    assert response.status == 200 and "X-RateLimit-Limit" not in response.headers

    asyncio.run(scenario())
