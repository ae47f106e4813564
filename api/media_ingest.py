"""Turn a received upload into stored files and the metadata core keeps about them.

Images are processed (media_processing) and stored as an original and a preview; video and audio are
stored as they came (no ffmpeg here: no transcoding, dimensions, duration or generated preview;
docs/media.md), with the client's `thumbnail`, processed like any image, as their preview. Processing
runs in a worker thread: Pillow releases the GIL while it decodes and encodes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from api.config import MediaLimits
from api.media_catalog import Media
from api.media_processing import ProcessedImage, UnprocessableMedia, process_image
from api.media_store import MediaKeys, MediaStore, new_keys
from api.media_upload import Upload

__all__ = ["UnprocessableMedia", "store_upload", "stored_keys"]


async def store_upload(store: MediaStore, upload: Upload, work: Path, limits: MediaLimits) -> Media:
    """Process and store the upload's file; return the catalog fields that describe it."""
    assert upload.path is not None and upload.format is not None
    keys, found = new_keys(), upload.format
    if found.kind == "image":
        processed = await asyncio.to_thread(process_image, upload.path, found, work, limits)
        original = keys.key("original", processed.original_format.extension)
        await store.put_file(original, processed.original, processed.original_format.mime)
        media = {"type": "image", "url": store.url(original), **await _store_preview(store, keys, processed)}
        media["meta"]["keys"]["original"] = original
        return media
    original = keys.key("original", found.extension)
    await store.put_file(original, upload.path, found.mime)
    media = {"type": found.kind, "url": store.url(original), "preview_url": None, "meta": {}}
    if upload.thumbnail is not None and upload.thumbnail_format is not None:
        thumbnail_work = work / "thumbnail"
        thumbnail_work.mkdir()
        args = (upload.thumbnail, upload.thumbnail_format, thumbnail_work, limits)
        media |= await _store_preview(store, keys, await asyncio.to_thread(process_image, *args))
        media["meta"].pop("original")  # the thumbnail's size says nothing about the video
    media["meta"]["keys"] = {**media["meta"].get("keys", {}), "original": original}
    return media


def stored_keys(media: Media) -> list[str]:
    """Return the storage keys `store_upload` wrote for `media` (to delete them if it is not recorded)."""
    return list((media.get("meta") or {}).get("keys", {}).values())


async def _store_preview(store: MediaStore, keys: MediaKeys, processed: ProcessedImage) -> Media:
    small = keys.key("small", processed.preview_format.extension)
    await store.put_file(small, processed.preview, processed.preview_format.mime)
    meta = {**processed.meta, "keys": {"small": small}}
    return {"preview_url": store.url(small), "meta": meta, "blurhash": processed.blurhash}
