"""Pagination `Link` headers: on the configured base URL whatever the Host says; `next` only after a full page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.api.people import ok, sign_up
from tests.api.support import CHEAP, served


def test_links_use_the_base_url_and_next_needs_a_full_page(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served(tmp_path) as (client, _):
            star, *fans = await sign_up(client, "star", "fan1", "fan2")
            for fan in fans:
                await ok(await client.post(f"/api/v1/accounts/{star.id}/follow", headers=fan.auth))
            spoofed = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
            full = await client.get(f"/api/v1/accounts/{star.id}/followers?limit=2", headers=spoofed)
            first, second = (await ok(full))[0]["id"], (await full.json())[1]["id"]
            assert full.headers["Link"] == (
                f'<{CHEAP.base_url}/api/v1/accounts/{star.id}/followers?limit=2&max_id={second}>; rel="next", '
                f'<{CHEAP.base_url}/api/v1/accounts/{star.id}/followers?limit=2&min_id={first}>; rel="prev"'
            )
            short = await client.get(f"/api/v1/accounts/{star.id}/followers?limit=3")
            assert len(await ok(short)) == 2 and short.headers["Link"].count("rel=") == 1
            assert 'rel="prev"' in short.headers["Link"]
            empty = await client.get(f"/api/v1/accounts/{star.id}/followers?max_id={second}")
            assert await ok(empty) == [] and "Link" not in empty.headers

    asyncio.run(scenario())
