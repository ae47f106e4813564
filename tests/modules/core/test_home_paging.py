"""Home timeline pages with Mastodon's bounds: max_id, since_id, min_id (upwards), deleted statuses skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.modules.core.support import CORE, delete, follow, launched, post, register


def test_pages_are_bounded_above_and_below_and_page_upwards_with_min_id(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            await follow(cluster, alice, bob)
            ids = [await post(cluster, bob, f"post {n}") for n in range(8)]  # oldest first
            await delete(cluster, bob, ids[3])
            await cluster.controls.wait_idle()
            live = [i for i in reversed(ids) if i != ids[3]]  # newest first

            async def page(**bounds: int | None) -> list[int]:
                found: list[int] = await cluster.query(CORE, "home_timeline", alice, **bounds)
                return found

            assert await page(limit=3) == live[:3]
            assert await page(max_id=ids[5], limit=3) == [ids[4], ids[2], ids[1]]
            assert await page(since_id=ids[1], limit=3) == live[:3]  # the newest page above since_id
            assert await page(min_id=ids[1], limit=2) == [ids[4], ids[2]]  # just above min_id, skipping the dead
            assert await page(min_id=ids[1], max_id=ids[6], limit=10) == [ids[5], ids[4], ids[2]]
            assert await page(min_id=ids[7]) == []

    asyncio.run(scenario())
