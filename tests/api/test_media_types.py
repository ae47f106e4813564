"""Type detection from content: every accepted format, and the lookalikes that must be refused."""

from __future__ import annotations

import pytest

from api import media_types as types
from api.media_types import MediaFormat, sniff
from tests.api import media_samples as samples


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (samples.image_bytes("JPEG"), types.JPEG),
        (samples.image_bytes("PNG"), types.PNG),
        (samples.image_bytes("GIF"), types.GIF),
        (samples.image_bytes("WEBP"), types.WEBP),
        (samples.image_bytes("AVIF"), types.AVIF),
        (samples.MP4_HEAD, types.MP4),
        (samples.QUICKTIME_HEAD, types.QUICKTIME),
        (samples.WEBM_HEAD, types.WEBM),
        (samples.OGG_THEORA_HEAD, types.OGG_VIDEO),
        (samples.M4A_HEAD, types.M4A),
        (samples.OGG_VORBIS_HEAD, types.OGG_AUDIO),
        (samples.WAV_HEAD, types.WAV),
        (samples.FLAC_HEAD, types.FLAC),
        (samples.MP3_ID3_HEAD, types.MP3),
        (samples.MP3_FRAME_HEAD, types.MP3),
        (samples.AAC_ADTS_HEAD, types.AAC),
    ],
)
def test_formats_are_known_by_their_first_bytes(head: bytes, expected: MediaFormat) -> None:
    assert sniff(head[: types.SNIFF_BYTES]) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"%PDF-1.7\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"<!DOCTYPE html><html>",
        b"MZ\x90\x00",  # a Windows executable
        b"PK\x03\x04",  # a zip
        b"\x7fELF\x02\x01\x01",
        samples.MKV_HEAD,  # Matroska that is not WebM
        samples.HEIC_HEAD,  # no decoder here: refused rather than stored unprocessed
        b"RIFF\x24\x08\x00\x00AVI LIST",
        b"\xff\xd8",  # too short to be a JPEG
        b"\xff\xe9\x00\x00",  # an MPEG frame sync with the reserved version bits
    ],
)
def test_other_content_is_not_accepted(head: bytes) -> None:
    assert sniff(head) is None


def test_every_format_has_a_kind_mastodon_knows() -> None:
    assert {f.kind for f in types.EXTENSIONS.values()} == {"image", "video", "audio"}
    assert all(f.extension == ext for ext, f in types.EXTENSIONS.items())
