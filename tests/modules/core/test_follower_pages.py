"""Fanout's vectorized follower pages: the same recipients and owners as the per-follower rule."""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np
import pytest

from modules.core.delivery import reaches
from modules.core.follower_pages import is_ordinary, options_of, ordinary_recipients, rows
from pstates.page_cache import IntPage, encode_values

OPTIONS = [
    {"reblogs": True, "notify": False, "languages": None},
    {"reblogs": False, "notify": True, "languages": ["de", "fr"]},
    {"reblogs": True, "notify": False, "languages": ["en"]},
]


def status(**fields: Any) -> dict[str, Any]:
    base = {"id": 1, "author": 5, "visibility": "public", "reply_to": None, "mentions": [], "language": "en"}
    return {**base, "tags": [], "reblog_of": None, "reblog_author": None, **fields}


@pytest.mark.parametrize("language", ["en", "fr", None])
def test_ordinary_recipients_follow_the_reaches_rule(language: str | None) -> None:
    rng = np.random.default_rng(3)
    ids = np.unique(rng.integers(-(2**40), 2**40, 500)).astype(np.int64)
    ids[7] = 5  # the author among its own followers' rows is left out
    ids.sort()
    raws = [msgpack.packb(OPTIONS[int(i) % 3]) for i in rng.integers(0, 3, ids.size)]
    delivered = status(language=language)
    assert is_ordinary(delivered)
    expected = [
        f
        for f, raw in zip(ids.tolist(), raws, strict=True)
        if f != 5 and reaches(delivered, f, options_of(raw), lambda a, b: False)
    ]
    page = IntPage(ids, *encode_values(raws))
    assert len(page.values) == 3  # one encoding per distinct options, each row a code into them
    assert ordinary_recipients(delivered, page).tolist() == expected
    assert rows(page)[3] == (int(ids[3]), msgpack.unpackb(raws[3]))


def test_boosts_direct_and_replies_to_others_are_not_ordinary() -> None:
    assert not is_ordinary(status(reblog_of=9, reblog_author=8))
    assert not is_ordinary(status(visibility="direct"))
    assert not is_ordinary(status(reply_to=8))
    assert is_ordinary(status(reply_to=5))  # a thread by its own author
