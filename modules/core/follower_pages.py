"""A follower bucket's page as numpy: ids in an int64 array, follow options as codes into distinct encodings.

A page of `$$partitioned_followers` is read with `int_page`: the follower ids come back as one int64 array
and each follow's options as a small integer code into the page's distinct msgpack encodings (`IntPage`).
The PState is declared with a page cache, so the committed read fanout makes is served, nearly always, from
a decoded copy of the whole bucket kept next to its store and dropped by the store's own writes to it
(`pstates.page_cache`). Nearly every follow has the same options (the defaults, or one of a few `languages`
choices), so the options are decoded once per distinct encoding (`options_of`, a bounded process-wide memo)
and an ordinary status is filtered with one verdict per distinct encoding applied through the codes, not
one decode and test per follower. Recipients are grouped by owning task for the whole step at once
(`home_outbox`).
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from modules.core.delivery import Delivery
from pstates.page_cache import IntPage

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


def ordinary_recipients(status: Delivery, page: IntPage) -> np.ndarray:
    """The followers on `page` an ordinary status reaches: all but its author and those of other languages."""
    ids = page.ids
    keep = ids != status["author"]
    language = status["language"]
    if language:
        values = page.values
        verdicts = np.fromiter((_speaks(options_of(raw), language) for raw in values), dtype=bool, count=len(values))
        if not verdicts.all():
            keep &= verdicts[page.codes]
    chosen: np.ndarray = ids[keep]
    return chosen


def rows(page: IntPage) -> list[tuple[int, dict[str, Any]]]:
    """The page as `(follower, options)` rows, for the statuses that need the full rule."""
    options = [options_of(raw) for raw in page.values]
    return [(follower, options[code]) for follower, code in zip(page.ids.tolist(), page.codes.tolist(), strict=True)]


def _speaks(options: dict[str, Any], language: str) -> bool:
    languages = options.get("languages")
    return not languages or language in languages
