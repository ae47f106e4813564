"""Turn a received upload into stored files and the metadata core keeps about them.

Images are processed with Pillow (media_processing) and stored as an original and a preview. Video becomes
MP4, an animated GIF a silent MP4 (`gifv`), audio MP3, all with ffmpeg (media_video). The preview of video
and gifv is the client's `thumbnail` if sent, else their first frame; audio has a preview only from a
`thumbnail`. Processing runs in a worker thread: Pillow releases the GIL, ffmpeg is another process.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

from PIL import Image

from api.config import MediaLimits
from api.media_catalog import Media
from api.media_processing import ProcessedImage, UnprocessableMedia, process_image
from api.media_store import MediaKeys, MediaStore, new_keys
from api.media_types import GIF, MP3, MP4, PNG, MediaFormat
from api.media_upload import Upload
from api.media_video import GIFV_PIXELS, audio_meta, first_frame, transcode_audio, transcode_video, video_meta

__all__ = ["UnprocessableMedia", "store_upload", "stored_keys"]


async def store_upload(store: MediaStore, upload: Upload, work: Path, limits: MediaLimits) -> Media:
    """Process and store the upload's file; return the catalog fields that describe it."""
    assert upload.path is not None and upload.format is not None
    keys, found = new_keys(), upload.format
    if found.kind == "image" and not await asyncio.to_thread(_is_gifv, upload.path, found):
        processed = await asyncio.to_thread(process_image, upload.path, found, work, limits)
        original = keys.key("original", processed.original_format.extension)
        await store.put_file(original, processed.original, processed.original_format.mime)
        media = {"type": "image", "url": store.url(original), **await _store_preview(store, keys, processed)}
        media["meta"]["keys"]["original"] = original
        return media
    if found.kind == "audio":
        return await _store_audio(store, keys, upload, work, limits)
    return await _store_video(store, keys, upload, work, limits)


def stored_keys(media: Media) -> list[str]:
    """Return the storage keys `store_upload` wrote for `media` (to delete them if it is not recorded)."""
    return list((media.get("meta") or {}).get("keys", {}).values())


async def _store_video(store: MediaStore, keys: MediaKeys, upload: Upload, work: Path, limits: MediaLimits) -> Media:
    """Transcode a video or animated GIF to MP4; its preview is the thumbnail or the first frame."""
    assert upload.path is not None and upload.format is not None
    gifv = upload.format == GIF
    target = work / "transcoded.mp4"
    probed = await asyncio.to_thread(transcode_video, upload.path, upload.format, target, with_audio=not gifv)
    original = keys.key("original", MP4.extension)
    await store.put_file(original, target, MP4.mime)
    media: Media = {"type": "gifv" if gifv else "video", "url": store.url(original)}
    preview = await _thumbnail(upload, work, limits)
    if preview is None:
        frame = work / "frame.png"
        await asyncio.to_thread(first_frame, target, frame)
        preview = await _process_still(frame, PNG, work / "frame", limits, keep_format=False)
    media |= await _store_preview(store, keys, preview)
    media["meta"] |= {"original": video_meta(probed)}
    media["meta"]["keys"]["original"] = original
    return media


async def _store_audio(store: MediaStore, keys: MediaKeys, upload: Upload, work: Path, limits: MediaLimits) -> Media:
    """Transcode audio to MP3; its preview is the client's thumbnail, if any."""
    assert upload.path is not None and upload.format is not None
    target = work / "transcoded.mp3"
    probed = await asyncio.to_thread(transcode_audio, upload.path, upload.format, target)
    original = keys.key("original", MP3.extension)
    await store.put_file(original, target, MP3.mime)
    media: Media = {"type": "audio", "url": store.url(original), "preview_url": None, "meta": {"keys": {}}}
    preview = await _thumbnail(upload, work, limits)
    if preview is not None:
        media |= await _store_preview(store, keys, preview)
    media["meta"] |= {"original": audio_meta(probed)}
    media["meta"]["keys"]["original"] = original
    return media


async def _thumbnail(upload: Upload, work: Path, limits: MediaLimits) -> ProcessedImage | None:
    """Process the client's `thumbnail`, keeping its format (Mastodon serves a PNG thumbnail as PNG)."""
    if upload.thumbnail is None or upload.thumbnail_format is None:
        return None
    return await _process_still(upload.thumbnail, upload.thumbnail_format, work / "thumbnail", limits, keep_format=True)


async def _process_still(
    source: Path, detected: MediaFormat, work: Path, limits: MediaLimits, *, keep_format: bool
) -> ProcessedImage:
    work.mkdir()
    return await asyncio.to_thread(process_image, source, detected, work, limits, keep_format=keep_format)


async def _store_preview(store: MediaStore, keys: MediaKeys, processed: ProcessedImage) -> Media:
    small = keys.key("small", processed.preview_format.extension)
    await store.put_file(small, processed.preview, processed.preview_format.mime)
    meta = {"small": processed.meta["small"], "original": processed.meta["original"], "keys": {"small": small}}
    return {"preview_url": store.url(small), "meta": meta, "blurhash": processed.blurhash}


def _is_gifv(path: Path, found: MediaFormat) -> bool:
    """Return True for an animated GIF small enough to become a silent MP4 (larger ones stay images)."""
    if found != GIF:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=["GIF"]) as image:
                width, height = image.size
                return width * height <= GIFV_PIXELS and bool(getattr(image, "n_frames", 1) > 1)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return False  # process_image reports why the file is not a usable image
