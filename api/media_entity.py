"""Mastodon's MediaAttachment, rendered from the metadata core keeps (api/media_catalog.py)."""

from __future__ import annotations

from typing import Any

from api.entities import Entity
from modules.core.ids import render

RENDERED_META = ("original", "small")


def attachment(found: dict[str, Any], *, processing: bool = False) -> Entity:
    """Render a MediaAttachment; `processing` hides `url` as v2's 202 does for video and audio."""
    meta = {name: found["meta"][name] for name in RENDERED_META if name in (found.get("meta") or {})}
    if found.get("focus") is not None:
        meta["focus"] = found["focus"]
    return {
        "id": render(found["id"]),
        "type": found["type"],
        "url": None if processing else found.get("url"),
        "preview_url": found.get("preview_url"),
        "remote_url": found.get("remote_url"),
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": found.get("description"),
        "blurhash": found.get("blurhash"),
    }
