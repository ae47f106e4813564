"""Authorization codes (single use, ten minutes, bound to their client) and the auth module's counters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.testing import FakeClock
from modules.auth.codes import CODE_TTL_MS
from modules.auth.passwords import hash_password
from modules.auth.stats import week_of
from tests.modules.auth.support import AUTH, CHEAP, digest, launched
from topology.context import RecordRejected

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636's S256 example


def grant(code: str, client_id: str = "c1", challenge: str | None = CHALLENGE) -> dict[str, object]:
    return {
        "op": "grant",
        "code_hash": digest(code),
        "client_id": client_id,
        "account": 7,
        "redirect_uri": "https://client.example/cb",
        "scopes": ["read"],
        "code_challenge": challenge,
    }


def redemption(code: str, token: str, client_id: str = "c1") -> dict[str, object]:
    return {"op": "redeem", "code_hash": digest(code), "client_id": client_id, "token_hash": digest(token)}


def test_a_code_is_redeemed_once(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await cluster.append(AUTH, "*codes", grant("k"))
            await cluster.append(AUTH, "*codes", {**grant("k"), "account": 8})  # a retry does not overwrite
            stored = await cluster.query(AUTH, "code", digest("k"))
            assert stored["account"] == 7 and stored["code_challenge"] == CHALLENGE and stored["redeemed_by"] is None
            assert (await cluster.append(AUTH, "*codes", redemption("k", "t", "c2"))).value == {"error": "unknown"}
            won = (await cluster.append(AUTH, "*codes", redemption("k", "t"))).value
            assert won == {"grant": {"account": 7, "scopes": ["read"]}}
            assert (await cluster.append(AUTH, "*codes", redemption("k", "t"))).value == won  # a retried redemption
            again = (await cluster.append(AUTH, "*codes", redemption("k", "t2"))).value
            assert again == {"error": "used", "token_hash": digest("t")}
            assert (await cluster.append(AUTH, "*codes", redemption("nope", "t"))).value == {"error": "unknown"}

    asyncio.run(scenario())


def test_a_code_expires_after_ten_minutes(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            clock = cluster.clock
            assert isinstance(clock, FakeClock)
            await cluster.append(AUTH, "*codes", grant("early"))
            await cluster.append(AUTH, "*codes", grant("late", challenge=None))
            clock.advance(CODE_TTL_MS)
            assert "grant" in (await cluster.append(AUTH, "*codes", redemption("early", "t"))).value
            clock.advance(1)
            assert (await cluster.append(AUTH, "*codes", redemption("late", "t2"))).value == {"error": "expired"}

    asyncio.run(scenario())


def test_malformed_code_records_are_rejected(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            for bad, message in [
                ({**grant("k"), "code_challenge": "plain-verifier"}, "S256"),
                ({**grant("k"), "code_hash": "k"}, "SHA-256"),
                ({**grant("k"), "account": None}, "account"),
                ({**redemption("k", "t"), "token_hash": "t"}, "SHA-256"),
                ({"op": "steal", "code_hash": digest("k")}, "unknown op"),
            ]:
                with pytest.raises(RecordRejected, match=message):
                    await cluster.append(AUTH, "*codes", bad)

    asyncio.run(scenario())


def test_counters_of_users_registrations_and_logins(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            clock = cluster.clock
            assert isinstance(clock, FakeClock)
            password = hash_password("pw", CHEAP)
            for account in (1, 2, 3):
                await cluster.append(
                    AUTH, "*credentials", {"account": account, "email": f"{account}@x", "password": password}
                )
            await cluster.append(
                AUTH, "*credentials", {"account": 1, "email": "1@x", "password": password}
            )  # an update
            token = {"op": "issue", "client_id": "c", "scopes": ["read"]}
            await cluster.append(AUTH, "*tokens", {**token, "token_hash": digest("app"), "account": None})
            clock.advance(7 * 86_400_000)
            for name in ("a", "b", "a"):  # the repeat is a retried append
                await cluster.append(AUTH, "*tokens", {**token, "token_hash": digest(name), "account": 1})
            assert await cluster.query(AUTH, "local_users") == 3
            weeks = await cluster.query(AUTH, "activity", 3)
            assert [w["week"] for w in weeks] == [week_of(clock.now_ms() - n * 7 * 86_400_000) for n in range(3)]
            assert [(w["registrations"], w["logins"]) for w in weeks] == [(0, 2), (3, 0), (0, 0)]

    asyncio.run(scenario())


def test_weeks_start_on_monday_midnight_utc() -> None:
    monday = 1_700_438_400_000  # 2023-11-20T00:00:00Z, a Monday
    assert week_of(monday) == week_of(monday + 7 * 86_400_000 - 1) == monday // 1000
    assert week_of(monday - 1) == monday // 1000 - 7 * 86_400
