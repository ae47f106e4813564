"""Hashtags read out of status text: Mastodon's boundaries, normalization and order."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from modules.core.text import HASHTAG, hashtags, normalize_tag
from tests.modules.core.support import launched, post, register


def test_hashtags_follow_mastodons_boundaries() -> None:
    assert hashtags("#Python and #web3 at #2024") == ["python", "web3"]
    assert hashtags("see example.com/#anchor or (x)#no, but #yes!") == ["yes"]
    assert hashtags("#Tusk #tusk #TUSK") == ["tusk"]
    assert hashtags("#café #日本語 #snake_case") == ["café", "日本語", "snake_case"]
    assert hashtags("no tags here # nor here") == []
    assert hashtags("#" + "a" * 101) == []


# Mastodon's rule as first written: the look-behind before the `#` (the pattern in use starts with `#`).
LOOKBEHIND_FIRST = re.compile(r"(?<![\w/)])#(\w*[^\W\d]\w*)")


@given(st.text(alphabet=st.sampled_from(["#", "a", "1", "/", ")", " ", "é", "_", "٣", "(", "\n"]), max_size=16))
def test_the_literal_first_pattern_matches_as_the_look_behind_first_one(text: str) -> None:
    assert [m.group(1) for m in HASHTAG.finditer(text)] == [m.group(1) for m in LOOKBEHIND_FIRST.finditer(text)]


def test_normalize_tag_is_case_insensitive_and_drops_the_hash() -> None:
    assert normalize_tag("#Straße") == normalize_tag("STRASSE") == "strasse"


def test_statuses_carry_their_tags_in_the_status_and_its_delivery(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice = await register(cluster, "alice")
            status_id = await post(cluster, alice, "Hello #Fediverse and #tusk")
            status = await cluster.query("core", "status", status_id)
            assert status is not None and status["tags"] == ["fediverse", "tusk"]
            [delivery] = await cluster.query("core", "author_deliveries", alice, 1)
            assert delivery["tags"] == ["fediverse", "tusk"] and delivery["reblog_of"] is None

    asyncio.run(scenario())


def test_core_and_followed_tags_normalize_alike() -> None:
    from modules.relationships.tags import normalize_tag as followed_tag

    for name in ("Straße", "#ＴＵＳＫ", "Café", "snake_Case", "日本語"):
        assert followed_tag(name) == normalize_tag(name)
