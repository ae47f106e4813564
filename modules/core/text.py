"""What core reads out of a status' text: its hashtags, normalized the way every module compares them.

Mastodon's rule (Tag::HASHTAG_RE, simplified): `#` not preceded by a word character, `/` or `)`, then word
characters containing at least one non-digit, so `#2024` is not a tag but `#web3` is. Names compare
case-insensitively: modules store the NFKC casefolded form; the first spelling in the text is kept
for display by whoever renders it.
"""

from __future__ import annotations

import re
import unicodedata

# The `#` comes first and the look-behind checks the character before it: a pattern that starts with a
# literal lets `re` jump from `#` to `#` instead of trying the look-behind at every position (2.5x faster).
HASHTAG = re.compile(r"#(?<![\w/)]#)(\w*[^\W\d]\w*)")
MAX_TAG_CHARS = 100


def hashtags(text: str) -> list[str]:
    """Return the distinct hashtags of `text`, normalized, in order of first appearance."""
    if "#" not in text:
        return []
    seen: dict[str, None] = {}
    for match in HASHTAG.finditer(text):
        name = normalize_tag(match.group(1))
        if len(name) <= MAX_TAG_CHARS:
            seen.setdefault(name, None)
    return list(seen)


def normalize_tag(name: str) -> str:
    """Return the form hashtags are stored and compared in: NFKC, casefolded, no leading '#'.

    Relationships' followed tags (`modules/relationships/tags.py`) normalize the same way, so a status'
    tags meet their followers.
    """
    return unicodedata.normalize("NFKC", name.removeprefix("#")).casefold()
