"""Sample media made on the spot: images by Pillow, and the real leading bytes of video and audio containers."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, PngImagePlugin

GPS_TAG, MAKE_TAG, ORIENTATION_TAG = 0x8825, 0x010F, 0x0112
SECRET = "SecretCam-9000"

# Container headers as encoders write them (enough for sniffing; they are not playable files).
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00\x00\x00\x08free"
QUICKTIME_HEAD = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00\x00\x00\x08wide"
M4A_HEAD = b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isommp42" + b"\x00\x00\x00\x08free"
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 16
WEBM_HEAD = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
MKV_HEAD = WEBM_HEAD.replace(b"\x84webm", b"\x88matroska")
OGG_VORBIS_HEAD = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis\x00\x00\x00\x00\x02"
OGG_THEORA_HEAD = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x2a\x80theora\x03\x02\x01"
WAV_HEAD = b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00"
FLAC_HEAD = b"fLaC\x00\x00\x00\x22\x10\x00\x10\x00"
MP3_ID3_HEAD = b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE"
MP3_FRAME_HEAD = b"\xff\xfb\x90\x64" + b"\x00" * 60
AAC_ADTS_HEAD = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 30


def image_bytes(
    fmt: str, size: tuple[int, int] = (64, 48), color: tuple[int, ...] = (200, 30, 40), **save: object
) -> bytes:
    """Return an image of one colour encoded as `fmt` (a Pillow format name)."""
    mode = "RGBA" if len(color) == 4 else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def camera_jpeg(size: tuple[int, int] = (80, 40), orientation: int = 6) -> bytes:
    """Return a JPEG with the EXIF a phone writes: maker, GPS position, an orientation tag; and a comment."""
    exif = Image.Exif()
    exif[MAKE_TAG] = SECRET
    exif[ORIENTATION_TAG] = orientation
    exif.get_ifd(GPS_TAG)[2] = (48.0, 51.0, 29.0)  # latitude
    return image_bytes("JPEG", size, exif=exif.tobytes(), comment=SECRET.encode())


def tagged_png(color: tuple[int, ...] = (0, 0, 255, 128)) -> bytes:
    """Return a PNG carrying a text chunk (author) and EXIF."""
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", SECRET)
    exif = Image.Exif()
    exif[MAKE_TAG] = SECRET
    return image_bytes("PNG", (30, 20), color, pnginfo=text, exif=exif.tobytes())


def animated_gif(frames: int = 3) -> bytes:
    """Return an animated GIF with a comment, distinct frames and per-frame durations."""
    pictures = [Image.new("RGB", (50, 40), (i * 80 % 256, 255 - i * 80 % 256, 0)) for i in range(frames)]
    out = io.BytesIO()
    durations = [100 * (i + 1) for i in range(frames)]
    pictures[0].save(
        out, "GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0, comment=SECRET.encode()
    )
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """Return a PNG whose header claims `width` x `height` with no real pixels: a decompression bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"\x00\x00\x00\x00IEND\xaeB`\x82"
