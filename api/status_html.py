"""A status' HTML: what Mastodon makes of plain text, with links on URLs, hashtags and mentions.

Escaped paragraphs on blank lines, `<br />` on single newlines; links on `http(s)://` URLs, on `#hashtags`
(to the server's tag page) and on the `@mentions` that name an account the status mentions (`@user`, or
`@user@this.domain`); any other `@name` stays text, as Mastodon leaves unknown names unlinked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

Mention = Mapping[str, Any]  # a rendered StatusMention: "username", "url", "acct"
# One pass over the text finds what becomes a link: a URL, a mention (`@user` or `@user@domain`), a hashtag.
LINKABLE = re.compile(
    r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])"
    r"|(?<![\w/@])@(?P<user>[A-Za-z0-9_]+)(?:@(?P<domain>[\w.:-]+[\w]))?"
    r"|(?<![\w/)&])#(?P<tag>\w*[^\W\d]\w*)"
)


def content(text: str, mentioned: Mapping[str, Mention], base_url: str) -> str:
    """Return plain `text` as Mastodon's HTML; `mentioned` maps lower-cased usernames to StatusMentions."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br />".join(_linked(line, mentioned, base_url) for line in p.split("\n")) + "</p>" for p in paragraphs
    )


def _linked(line: str, mentioned: Mapping[str, Mention], base_url: str) -> str:
    out, end = [], 0
    for match in LINKABLE.finditer(line):
        link = _link(match, mentioned, base_url)
        if link is not None:
            out += [html.escape(line[end : match.start()]), link]
            end = match.end()
    out.append(html.escape(line[end:]))
    return "".join(out)


def _link(match: re.Match[str], mentioned: Mapping[str, Mention], base_url: str) -> str | None:
    if match["url"]:
        url = html.escape(match["url"])
        return f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer" translate="no">{url}</a>'
    if match["tag"]:
        name = html.escape(match["tag"])
        return f'<a href="{base_url}/tags/{name.lower()}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'
    found = mentioned.get(match["user"].lower())
    if found is None or (match["domain"] and match["domain"].lower() != urlsplit(base_url).netloc.lower()):
        return None  # not an account this status mentions (a remote name, or nobody)
    url, username = html.escape(found["url"]), html.escape(found["username"])
    return (
        f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">@<span>{username}</span></a></span>'
    )
