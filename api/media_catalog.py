"""Attachment metadata: the interface the media routes use, and its implementation on core's `*media` depot.

The bytes are in a `MediaStore`; what a MediaAttachment says about them is kept by core. A create record is

    {"op": "create", "account": id, "uuid": str, "type": "image" | "video" | "gifv" | "audio" | "unknown",
     "url": str | None, "preview_url": str | None, "remote_url": None, "description": str | None,
     "focus": {"x": float, "y": float} | None, "meta": {"original"?, "small"?, "keys": {variant: key}},
     "blurhash": str | None}

and an update `{"op": "update", "account", "id", "description"?, "focus"?}`. Core answers the `media` query
with the stored dicts (the record's fields plus "id", "account", "status" (attached to), "created_at").
`meta["keys"]` remembers the storage keys so a later clean-up can delete the files; it is never rendered.
"""

from __future__ import annotations

from typing import Any, Protocol

from cluster.client import ClusterClient

CORE = "core"
Media = dict[str, Any]


class MediaCatalog(Protocol):
    """Creates, reads and updates attachment metadata."""

    async def create(self, account: int, uuid: str, metadata: Media) -> int:
        """Record new metadata owned by `account`; return its id (the same id for a retried `uuid`)."""
        ...

    async def get(self, media_ids: list[int]) -> list[Media]:
        """Return the stored metadata of the ids that exist, in order."""
        ...

    async def update(self, account: int, media_id: int, changes: Media) -> None:
        """Change `description` and / or `focus` of the account's unattached media."""
        ...


class CoreMediaCatalog:
    """The catalog kept by core: appends to `*media`, reads with the `media` query."""

    def __init__(self, client: ClusterClient) -> None:
        self.client = client

    async def create(self, account: int, uuid: str, metadata: Media) -> int:
        """Append a create record and return the id core issued."""
        record = {"op": "create", "account": account, "uuid": uuid, **metadata}
        return int((await self.client.append(CORE, "*media", record)).value)

    async def get(self, media_ids: list[int]) -> list[Media]:
        """Query core for the metadata."""
        found: list[Media] = await self.client.query(CORE, "media", None, media_ids)
        return found

    async def update(self, account: int, media_id: int, changes: Media) -> None:
        """Append an update record."""
        await self.client.append(CORE, "*media", {"op": "update", "account": account, "id": media_id, **changes})
