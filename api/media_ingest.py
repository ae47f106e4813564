"""Turn a received upload into stored files and the metadata core keeps about them.

Images are processed (media_processing) and stored as an original and a preview; video and audio are
stored as they came (no ffmpeg here: no transcoding, dimensions, duration or preview; docs/media.md).
Processing runs in a worker thread: Pillow releases the GIL while it decodes and encodes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from api.config import MediaLimits
from api.media_catalog import Media
from api.media_processing import UnprocessableMedia, process_image
from api.media_store import MediaStore, new_keys
from api.media_upload import Upload

__all__ = ["UnprocessableMedia", "store_upload"]


async def store_upload(store: MediaStore, upload: Upload, work: Path, limits: MediaLimits) -> Media:
    """Process and store the upload's file; return the catalog fields that describe it."""
    assert upload.path is not None and upload.format is not None
    keys, found = new_keys(), upload.format
    if found.kind != "image":
        key = keys.key("original", found.extension)
        await store.put_file(key, upload.path, found.mime)
        return {"type": found.kind, "url": store.url(key), "preview_url": None, "meta": {"keys": {"original": key}}}
    processed = await asyncio.to_thread(process_image, upload.path, found, work, limits)
    original = keys.key("original", processed.original_format.extension)
    small = keys.key("small", processed.preview_format.extension)
    await asyncio.gather(
        store.put_file(original, processed.original, processed.original_format.mime),
        store.put_file(small, processed.preview, processed.preview_format.mime),
    )
    return {
        "type": "image",
        "url": store.url(original),
        "preview_url": store.url(small),
        "meta": {**processed.meta, "keys": {"original": original, "small": small}},
        "blurhash": processed.blurhash,
    }
