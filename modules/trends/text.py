"""What trends reads out of a status' text besides core's hashtags: its links, normalized."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
MAX_URL_CHARS = 2_048
TAG_NAME = re.compile(r"\w*[^\W\d]\w*")
MAX_TAG_CHARS = 100


def links(text: str) -> list[str]:
    """Return the distinct http(s) links of `text`, normalized, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in URL.finditer(text):
        url = normalize_url(match.group(0).rstrip(TRAILING))
        if url is not None and len(url) <= MAX_URL_CHARS:
            seen.setdefault(url, None)
    return list(seen)


def normalize_url(url: str) -> str | None:
    """Return `url` with its scheme and host lower-cased and its fragment dropped, or None if it has no host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    netloc = parts.netloc.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def is_tag_name(name: str) -> bool:
    """Whether `name` (without '#') is a hashtag name core would extract."""
    return len(name) <= MAX_TAG_CHARS and TAG_NAME.fullmatch(name) is not None
