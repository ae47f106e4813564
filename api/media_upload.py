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
            upload.format, upload.size = await _save_file(part, upload.path, limits)
        elif part.name in TEXT_FIELDS:
            upload.fields[part.name] = await _read_text(part)
        else:
            await part.release()  # `thumbnail` and unknown fields are not used (docs/media.md)
    return upload


async def _save_file(part: BodyPartReader, target: Path, limits: MediaLimits) -> tuple[MediaFormat, int]:
    with target.open("wb") as sink:
        head = await _read_head(part)
        found = sniff(head)
        if found is None:
            raise unprocessable("File content type is invalid (not a supported image, video or audio format)")
        sink.write(head)
        size = len(head) + await _copy_rest(part, sink, limits.bytes_for(found.kind) - len(head))
    if size > limits.bytes_for(found.kind):
        raise unprocessable(f"File file size must be less than {_megabytes(limits.bytes_for(found.kind))}")
    if size == 0:
        raise unprocessable("File can't be blank")
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
