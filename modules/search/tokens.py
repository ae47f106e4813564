"""How search splits text into comparable words, and how name-index keys are laid out."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+")
MAX_TOKEN_CHARS = 40
MAX_TOKENS = 100
SEPARATOR = "\x1f"  # below every printable character: "ab" + SEPARATOR sorts before "abc"
LAST_CHAR = chr(0x10FFFF)


def tokens(text: str) -> list[str]:
    """Return the distinct casefolded words of `text` (at most `MAX_TOKENS`, each cut to `MAX_TOKEN_CHARS`)."""
    seen: dict[str, None] = {}
    for match in WORD.finditer(text.casefold()):
        seen.setdefault(match.group(0)[:MAX_TOKEN_CHARS], None)
        if len(seen) >= MAX_TOKENS:
            break
    return list(seen)


def name_key(token: str, account: int) -> str:
    """Return the `$$names` key of `account` under `token`: prefix scans find it under every prefix."""
    return f"{token}{SEPARATOR}{account}"


def split_name_key(key: str) -> tuple[str, int]:
    """Return the (token, account) a `$$names` key holds."""
    token, _, account = key.rpartition(SEPARATOR)
    return token, int(account)


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """Return the [start, end) string range holding every key that starts with `prefix`."""
    return prefix, prefix + LAST_CHAR
