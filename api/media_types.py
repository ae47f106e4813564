"""What an upload is, decided from its first bytes (magic numbers), never from its name or declared type.

The client's filename and Content-Type are ignored: a `.png` that starts like an MP3 is an MP3, and bytes
that match nothing here are refused. `sniff` needs the first `SNIFF_BYTES` of the file (fewer at EOF).
"""

from __future__ import annotations

from dataclasses import dataclass

SNIFF_BYTES = 64


@dataclass(frozen=True, slots=True)
class MediaFormat:
    """A recognized format: Mastodon's attachment type, the MIME type we serve it as, our file extension."""

    kind: str  # "image" | "video" | "audio"
    mime: str
    extension: str


JPEG = MediaFormat("image", "image/jpeg", "jpg")
PNG = MediaFormat("image", "image/png", "png")
GIF = MediaFormat("image", "image/gif", "gif")
WEBP = MediaFormat("image", "image/webp", "webp")
AVIF = MediaFormat("image", "image/avif", "avif")
MP4 = MediaFormat("video", "video/mp4", "mp4")
QUICKTIME = MediaFormat("video", "video/quicktime", "mov")
WEBM = MediaFormat("video", "video/webm", "webm")
OGG_VIDEO = MediaFormat("video", "video/ogg", "ogv")
M4A = MediaFormat("audio", "audio/mp4", "m4a")
MP3 = MediaFormat("audio", "audio/mpeg", "mp3")
AAC = MediaFormat("audio", "audio/aac", "aac")
OGG_AUDIO = MediaFormat("audio", "audio/ogg", "ogg")
WAV = MediaFormat("audio", "audio/wave", "wav")
FLAC = MediaFormat("audio", "audio/flac", "flac")

EXTENSIONS = {f.extension: f for f in (JPEG, PNG, GIF, WEBP, AVIF, MP4, QUICKTIME, WEBM, OGG_VIDEO, M4A, MP3, AAC)}
EXTENSIONS |= {f.extension: f for f in (OGG_AUDIO, WAV, FLAC)}

# ISO base media file format brands (bytes 8..12 after "ftyp"); HEIC brands are absent on purpose:
# Pillow cannot decode HEIC without a plugin, so such uploads are refused rather than stored unprocessed.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
QUICKTIME_BRANDS = frozenset({b"qt  "})
AUDIO_BRANDS = frozenset({b"M4A ", b"M4B "})
VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"mmp4", b"MSNV"}
)


def sniff(head: bytes) -> MediaFormat | None:
    """Return the format the first bytes of a file announce, None if it is none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE"):
        return WEBP if head[8:12] == b"WEBP" else WAV
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM; only WebM is accepted
        return WEBM if b"webm" in head[:SNIFF_BYTES] else None
    if head.startswith(b"OggS"):
        return OGG_VIDEO if b"theora" in head[:SNIFF_BYTES] else OGG_AUDIO
    if head.startswith(b"fLaC"):
        return FLAC
    return _mpeg_audio(head)


def _iso_media(head: bytes) -> MediaFormat | None:
    brand = head[8:12]
    if brand in AVIF_BRANDS or (brand == b"mif1" and b"avif" in head[16:SNIFF_BYTES]):
        return AVIF
    if brand in QUICKTIME_BRANDS:
        return QUICKTIME
    if brand in AUDIO_BRANDS:
        return M4A
    if brand in VIDEO_BRANDS or brand.startswith(b"3g"):
        return MP4
    return None


def _mpeg_audio(head: bytes) -> MediaFormat | None:
    """MP3 with an ID3 tag or a bare MPEG audio frame; a frame whose layer bits are 0 is ADTS AAC."""
    if head.startswith(b"ID3"):
        return MP3
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0b11
    if layer != 0:
        return MP3 if (head[1] >> 3) & 0b11 != 0b01 else None  # version bits 01 are reserved
    return AAC if head[1] & 0xF6 == 0xF0 else None
