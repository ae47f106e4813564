"""Receive an upload: stream the multipart `file` part to disk, sniffing its type and counting its bytes.

A body announced larger than any upload may be is refused before a byte is read (413, what Mastodon's
nginx answers). The file's first bytes decide its type (`media_types.sniff`): an unknown type is refused
at once, and the type's size limit is enforced while streaming (422 "File file size must be less than
16 MB", Mastodon's words), so neither a 99 MB video nor an oversized image is ever held in memory.
The client's filename and Content-Type are never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, web

from api.config import MB, MediaLimits
from api.errors import unprocessable
from api.media_types import SNIFF_BYTES, MediaFormat, sniff

CHUNK = 256 << 10
TEXT_FIELDS = ("description", "focus")
TEXT_BYTES = 8 << 10  # a 1,500-character description is at most 6,000 bytes of UTF-8


@dataclass(slots=True)
class Upload:
    """What a media request carried: the file on disk (if any), its sniffed format, the text fields."""

    path: Path | None = None
    format: MediaFormat | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    thumbnail: Path | None = None  # a custom preview for video and audio: an image
    thumbnail_format: MediaFormat | None = None


async def receive(request: web.Request, work: Path, limits: MediaLimits) -> Upload:
    """Read a multipart media request, the `file` part into `work`; 413 / 422 as Mastodon answers."""
    if (request.content_length or 0) > limits.request_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=limits.request_bytes, actual_size=request.content_length or 0)
    if request.content_type != "multipart/form-data":
        raise unprocessable("File can't be blank (send the file as multipart/form-data)")
    upload = Upload()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise unprocessable("nested multipart bodies are not accepted")
        if part.name == "file" and upload.path is None:
            upload.path = work / "upload"
            upload.format, upload.size = await save_file(part, upload.path, limits, "File")
        elif part.name == "thumbnail" and upload.thumbnail is None:
            upload.thumbnail = work / "thumbnail-upload"
            upload.thumbnail_format, _ = await save_file(part, upload.thumbnail, limits, "Thumbnail", image=True)
        elif part.name in TEXT_FIELDS:
            upload.fields[part.name] = await _read_text(part)
        else:
            await part.release()  # unknown fields are ignored, as Rails does
    return upload


async def save_file(
    part: BodyPartReader, target: Path, limits: MediaLimits, what: str, *, image: bool = False
) -> tuple[MediaFormat, int]:
    """Stream `part` to `target`, sniffing its format; 422 for an unknown (or non-image) type or too many bytes."""
    with target.open("wb") as sink:
        head = await _read_head(part)
        found = sniff(head)
        if found is None or (image and found.kind != "image"):
            expected = "an image" if image else "a supported image, video or audio format"
            raise unprocessable(f"{what} content type is invalid (not {expected})")
        sink.write(head)
        most = limits.bytes_for(found.kind)
        size = len(head) + await _copy_rest(part, sink, most - len(head))
    if size > most:
        raise unprocessable(f"{what} file size must be less than {_megabytes(most)}")
    return found, size


async def _read_head(part: BodyPartReader) -> bytes:
    """Return at least the first SNIFF_BYTES of the part (fewer only at its end)."""
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = await part.read_chunk(SNIFF_BYTES)
        if not chunk:
            break
        head += chunk
    return head


async def _copy_rest(part: BodyPartReader, sink: BinaryIO, allowance: int) -> int:
    """Copy the rest of the part to `sink`; stop one chunk past `allowance` (the caller refuses that size)."""
    copied = 0
    while chunk := await part.read_chunk(CHUNK):
        copied += len(chunk)
        if copied > allowance:
            return copied
        sink.write(chunk)
    return copied


async def _read_text(part: BodyPartReader) -> str:
    data = b""
    while chunk := await part.read_chunk(TEXT_BYTES):
        data += chunk
        if len(data) > TEXT_BYTES:
            raise unprocessable(f"{part.name} is too long")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise unprocessable(f"{part.name} is not valid UTF-8") from None


def _megabytes(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size} bytes"
