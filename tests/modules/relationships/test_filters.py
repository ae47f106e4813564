"""Filters v2 through the module: creates by uuid, edits of filters, keywords and statuses, bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.inprocess import InProcessCluster
from cluster.testing import FakeClock
from modules.relationships.filtering import filter_results
from tests.modules.relationships.support import MODULE, append, launched
from topology.context import RecordRejected

ACCOUNT = 1


async def filter_op(cluster: InProcessCluster, op: str, **fields: Any) -> Any:
    """Append a `*filters` record of ACCOUNT and return the topology's value."""
    return await append(cluster, "*filters", {"op": op, "account": ACCOUNT, **fields})


async def create(cluster: InProcessCluster, uuid: str = "f1", **fields: Any) -> int:
    """Create a filter of ACCOUNT (defaults: title "spoilers", context home) and return its id."""
    defaults: dict[str, Any] = {"title": "spoilers", "context": ["home"], "keywords": [{"keyword": "finale"}]}
    filter_id: int = await filter_op(cluster, "create", uuid=uuid, **{**defaults, **fields})
    return filter_id


async def all_filters(cluster: InProcessCluster) -> list[dict[str, Any]]:
    """ACCOUNT's filters as the query returns them."""
    result: list[dict[str, Any]] = await cluster.query(MODULE, "filters", ACCOUNT)
    return result


def test_create_is_idempotent_and_returns_the_whole_filter(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        async with launched(tmp_path, store_kind, clock=clock) as cluster:
            filter_id = await create(cluster, context=["thread", "home"], filter_action="hide", expires_in=3600)
            assert await create(cluster, title="a retry is not a second filter") == filter_id
            [found] = await all_filters(cluster)
            [keyword] = found["keywords"]
            assert found == {
                "id": filter_id,
                "title": "spoilers",
                "context": ["home", "thread"],
                "filter_action": "hide",
                "expires_at": clock.now_ms() + 3_600_000,
                "keywords": [{"id": keyword["id"], "keyword": "finale", "whole_word": True}],
                "statuses": [],
            }
            assert await cluster.query(MODULE, "filter", ACCOUNT, filter_id) == found
            assert await cluster.query(MODULE, "filter", ACCOUNT, filter_id + 1) is None
            assert await cluster.query(MODULE, "filters", 2) == []

    asyncio.run(scenario())


def test_update_edits_fields_and_keywords_like_keywords_attributes(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            filter_id = await create(cluster, keywords=[{"keyword": "finale"}, {"keyword": "ending"}], expires_in=60)
            finale, ending = (k["id"] for k in (await all_filters(cluster))[0]["keywords"])
            edits = [
                {"id": finale, "whole_word": False},
                {"id": ending, "_destroy": True},
                {"keyword": "season 2", "whole_word": True},
            ]
            await filter_op(cluster, "update", filter_id=filter_id, title="tv", expires_in=None, keywords=edits)
            [found] = await all_filters(cluster)
            assert (found["title"], found["context"], found["expires_at"]) == ("tv", ["home"], None)
            assert [(k["keyword"], k["whole_word"]) for k in found["keywords"]] == [
                ("finale", False),
                ("season 2", True),
            ]

    asyncio.run(scenario())


def test_keywords_and_statuses_have_their_own_ids(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            filter_id = await create(cluster, keywords=[])
            keyword_id = await filter_op(cluster, "add_keyword", filter_id=filter_id, keyword="spoiler", uuid="k1")
            assert await filter_op(cluster, "add_keyword", filter_id=filter_id, keyword="x", uuid="k1") == keyword_id
            await filter_op(cluster, "update_keyword", keyword_id=keyword_id, keyword="Spoiler", whole_word=False)
            assert await cluster.query(MODULE, "filter_keyword", ACCOUNT, keyword_id) == {
                "id": keyword_id,
                "filter_id": filter_id,
                "keyword": "Spoiler",
                "whole_word": False,
            }
            status_row = await filter_op(cluster, "add_status", filter_id=filter_id, status_id=777)
            assert await filter_op(cluster, "add_status", filter_id=filter_id, status_id=777) == status_row
            assert (await cluster.query(MODULE, "filter_status", ACCOUNT, status_row))["status_id"] == 777
            [found] = await all_filters(cluster)
            assert found["statuses"] == [{"id": status_row, "status_id": 777}]
            results = filter_results([found], status_id=777, text="no spoiler here", context="home", now_ms=0)
            assert results[0]["keyword_matches"] == ["spoiler"] and results[0]["status_matches"] == [777]
            await filter_op(cluster, "remove_keyword", keyword_id=keyword_id)
            await filter_op(cluster, "remove_status", filter_status_id=status_row)
            [found] = await all_filters(cluster)
            assert (found["keywords"], found["statuses"]) == ([], [])

    asyncio.run(scenario())


def test_delete_removes_keywords_and_statuses(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            doomed = await create(cluster, "f1")
            kept = await create(cluster, "f2", title="kept")
            row = await filter_op(cluster, "add_status", filter_id=doomed, status_id=5)
            keyword_id = (await all_filters(cluster))[0]["keywords"][0]["id"]
            await filter_op(cluster, "delete", filter_id=doomed)
            await filter_op(cluster, "delete", filter_id=doomed)  # retried: nothing left to do
            assert [f["id"] for f in await all_filters(cluster)] == [kept]
            assert await cluster.query(MODULE, "filter_keyword", ACCOUNT, keyword_id) is None
            assert await cluster.query(MODULE, "filter_status", ACCOUNT, row) is None

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"uuid": None}, "uuid must be"),
        ({"title": ""}, "non-empty title"),
        ({"title": "t" * 257}, "over the limit of 256"),
        ({"context": []}, "non-empty list"),
        ({"context": ["home", "mentions"]}, r"unknown filter context \['mentions'\]"),
        ({"filter_action": "delete"}, "filter_action must be"),
        ({"expires_in": 0}, "expires_in must be"),
        ({"expires_in": "1h"}, "expires_in must be"),
        ({"keywords": [{"keyword": " "}]}, "non-empty string"),
        ({"keywords": [{"keyword": "k" * 513}]}, "over the limit of 512"),
        ({"keywords": [{"keyword": "k", "whole_word": 1}]}, "whole_word must be a bool"),
        ({"keywords": "finale"}, "keywords must be a list"),
    ],
)
def test_bad_filters_are_rejected(tmp_path: Path, store_kind: str, fields: dict[str, Any], message: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match=message):
                await create(cluster, **fields)
            assert await all_filters(cluster) == []

    asyncio.run(scenario())


def test_edits_of_missing_things_are_rejected(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            with pytest.raises(RecordRejected, match="has no filter 9"):
                await filter_op(cluster, "update", filter_id=9, title="x")
            with pytest.raises(RecordRejected, match="has no filter 9"):
                await filter_op(cluster, "add_keyword", filter_id=9, keyword="x")
            with pytest.raises(RecordRejected, match="has no filter keyword 4"):
                await filter_op(cluster, "update_keyword", keyword_id=4, keyword="x")
            with pytest.raises(RecordRejected, match="unknown op"):
                await filter_op(cluster, "mute")
            with pytest.raises(RecordRejected, match="status_id must be an id"):
                await filter_op(cluster, "add_status", filter_id=await create(cluster), status_id="5")

    asyncio.run(scenario())
