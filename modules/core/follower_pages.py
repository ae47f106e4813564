"""A follower bucket's page as numpy: ids decoded in bulk, follow options decoded once per distinct value.

A page of `$$partitioned_followers` is read with `int_range_raw`: the follower ids come back as one int64
array and each follow's options as its stored msgpack bytes. Nearly every follow has the same options (the
defaults, or one of a few `languages` choices), so the options are decoded once per distinct encoding
(`options_of`, a bounded process-wide memo) and an ordinary status is filtered with one verdict per
distinct encoding, not one decode and test per follower. Recipients are grouped by owning task for the
whole step at once (`home_outbox`).
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from modules.core.delivery import Delivery

MAX_MEMO = 4_096  # distinct option encodings kept decoded; past that the memo starts over

_options: dict[bytes, dict[str, Any]] = {}


def options_of(raw: bytes) -> dict[str, Any]:
    """Return the follow options stored as `raw` (decoded once per distinct encoding; do not mutate)."""
    found = _options.get(raw)
    if found is None:
        if len(_options) >= MAX_MEMO:
            _options.clear()
        found = _options[raw] = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    return found


def is_ordinary(status: Delivery) -> bool:
    """Whether only the author and a follow's `languages` can keep `status` from a follower (nearly always).

    That is: not a boost, not direct, and not a reply to someone other than its author.
    """
    reply_to = status["reply_to"]
    return (
        status.get("reblog_of") is None
        and status["visibility"] != "direct"
        and (reply_to is None or reply_to == status["author"])
    )


def ordinary_recipients(status: Delivery, ids: np.ndarray, raws: list[bytes]) -> np.ndarray:
    """The followers `ids` (options `raws`) an ordinary status reaches: all but its author and other languages."""
    keep = ids != status["author"]
    language = status["language"]
    if language:
        verdicts = {raw: _speaks(options_of(raw), language) for raw in set(raws)}
        if not all(verdicts.values()):
            keep &= np.fromiter((verdicts[raw] for raw in raws), dtype=bool, count=len(raws))
    chosen: np.ndarray = ids[keep]
    return chosen


def rows(ids: np.ndarray, raws: list[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """The page as `(follower, options)` rows, for the statuses that need the full rule."""
    return [(follower, options_of(raw)) for follower, raw in zip(ids.tolist(), raws, strict=True)]


def _speaks(options: dict[str, Any], language: str) -> bool:
    languages = options.get("languages")
    return not languages or language in languages
