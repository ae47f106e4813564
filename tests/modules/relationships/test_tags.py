"""Followed hashtags: normalized names, both directions kept, pages, limits and bad names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cluster.inprocess import InProcessCluster
from modules.relationships.tags import normalize_tag
from tests.modules.relationships.support import MODULE, append, launched
from topology.context import RecordRejected


async def tag_op(cluster: InProcessCluster, account: int, tag: str, op: str = "follow") -> None:
    """Follow or unfollow a tag."""
    await append(cluster, "*followed_tags", {"op": op, "account": account, "tag": tag})


def test_follow_and_unfollow_tags_from_both_sides(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            await tag_op(cluster, 1, "#Python")
            await tag_op(cluster, 1, "python")  # the same tag: a retry changes nothing
            await tag_op(cluster, 1, "Rust")
            await tag_op(cluster, 2, "PYTHON")
            assert await cluster.query(MODULE, "followed_tags", 1) == ["python", "rust"]
            assert await cluster.query(MODULE, "followed_tags", 1, "python") == ["rust"]
            assert await cluster.query(MODULE, "followed_tags", 1, None, 1) == ["python"]
            assert await cluster.query(MODULE, "tag_followers", "python") == [1, 2]
            assert await cluster.query(MODULE, "tag_followers", "python", 1) == [2]
            assert await cluster.query(MODULE, "follows_tag", 2, "python")
            await tag_op(cluster, 1, "PyThOn", op="unfollow")
            assert await cluster.query(MODULE, "followed_tags", 1) == ["rust"]
            assert await cluster.query(MODULE, "tag_followers", "python") == [2]
            assert not await cluster.query(MODULE, "follows_tag", 1, "python")

    asyncio.run(scenario())


def test_tag_names_normalize_like_mastodon() -> None:
    assert normalize_tag("#Café") == "café"
    assert normalize_tag("ＴＵＳＫ") == "tusk"  # NFKC folds full-width letters
    assert normalize_tag("日本語") == "日本語"
    assert normalize_tag("a·b") == "a·b"
    assert normalize_tag("2024_年") == "2024_年"
    assert normalize_tag("_1") == "_1"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "1 to 100"),
        ("#", "1 to 100"),
        ("x" * 101, "1 to 100"),
        ("hello world", "only letters"),
        ("c++", "only letters"),
        ("·ab", "only letters"),
        ("2024", "not a digit"),
        (7, "must be a string"),
    ],
)
def test_bad_tag_names_are_rejected(name: object, message: str) -> None:
    with pytest.raises(RecordRejected, match=message):
        normalize_tag(name)


def test_bad_tag_records_write_nothing(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match="not a digit"):
                await tag_op(cluster, 1, "123")
            with pytest.raises(RecordRejected, match="unknown op"):
                await tag_op(cluster, 1, "abc", op="mute")
            with pytest.raises(RecordRejected, match="account must be"):
                await append(cluster, "*followed_tags", {"op": "follow", "account": None, "tag": "abc"})
            assert await cluster.query(MODULE, "followed_tags", 1) == []

    asyncio.run(scenario())
