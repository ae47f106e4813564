"""Image processing for real with Pillow: metadata gone, upright, bounded, previewed, blurhashed."""

from __future__ import annotations

from pathlib import Path

import blurhash
import pytest
from PIL import Image

from api.config import MediaLimits
from api.media_processing import ProcessedImage, UnprocessableMedia, process_image
from api.media_types import AVIF, GIF, JPEG, PNG, WEBP, sniff
from tests.api import media_samples as samples

LIMITS = MediaLimits()


def process(tmp_path: Path, data: bytes, limits: MediaLimits = LIMITS) -> ProcessedImage:
    """Write `data`, sniff it as the upload path does, and process it into tmp_path/out."""
    source = tmp_path / "upload"
    source.write_bytes(data)
    found = sniff(data[:64])
    assert found is not None
    (tmp_path / "out").mkdir(exist_ok=True)
    return process_image(source, found, tmp_path / "out", limits)


def test_a_camera_photo_loses_its_exif_and_comment_and_stays_upright(tmp_path: Path) -> None:
    result = process(tmp_path, samples.camera_jpeg(size=(80, 40), orientation=6))
    stored = result.original.read_bytes()
    assert samples.SECRET.encode() not in stored
    with Image.open(result.original) as image:
        assert dict(image.getexif()) == {}
        assert "comment" not in image.info
        assert image.size == (40, 80)  # orientation 6 (rotate 90°) applied to the pixels
    assert result.original_format == JPEG
    assert result.meta["original"] == {"width": 40, "height": 80, "size": "40x80", "aspect": 0.5}


def test_png_text_chunks_and_exif_are_dropped_and_alpha_kept(tmp_path: Path) -> None:
    result = process(tmp_path, samples.tagged_png())
    assert samples.SECRET.encode() not in result.original.read_bytes()
    with Image.open(result.original) as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0)) == (0, 0, 255, 128)
        assert not image.text  # type: ignore[attr-defined]
    assert (result.original_format, result.preview_format) == (PNG, PNG)  # transparency survives the preview


def test_big_images_are_downscaled_and_the_preview_is_small(tmp_path: Path) -> None:
    limits = MediaLimits(target_pixels=200 * 100, preview_pixels=40 * 20)
    result = process(tmp_path, samples.image_bytes("PNG", (800, 400)), limits)
    original, small = result.meta["original"], result.meta["small"]
    assert (original["width"], original["height"]) == (200, 100)
    assert (small["width"], small["height"]) == (40, 20)
    with Image.open(result.preview) as preview:
        assert preview.size == (40, 20) and preview.format == "JPEG"


def test_images_past_the_pixel_bound_are_refused_before_decoding(tmp_path: Path) -> None:
    with pytest.raises(UnprocessableMedia, match="too large"):
        process(tmp_path, samples.image_bytes("PNG", (200, 200)), MediaLimits(max_pixels=100 * 100))
    with pytest.raises(UnprocessableMedia):  # claims 10^10 pixels: Pillow's bomb guard or ours, never a decode
        process(tmp_path, samples.png_header_only(100_000, 100_000))


def test_content_that_only_looks_like_an_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnprocessableMedia):
        process(tmp_path, b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10)
    truncated = samples.image_bytes("PNG", (300, 300))[:120]
    with pytest.raises(UnprocessableMedia):
        process(tmp_path, truncated)


def test_a_png_is_decoded_only_as_a_png(tmp_path: Path) -> None:
    source = tmp_path / "upload"
    source.write_bytes(samples.image_bytes("PNG"))
    (tmp_path / "out").mkdir()
    with pytest.raises(UnprocessableMedia):  # the sniffed format picks the decoder: no fallback to others
        process_image(source, JPEG, tmp_path / "out", LIMITS)


def test_animated_gifs_keep_frames_and_timing_but_not_comments(tmp_path: Path) -> None:
    result = process(tmp_path, samples.animated_gif(frames=3))
    assert result.original_format == GIF
    assert samples.SECRET.encode() not in result.original.read_bytes()
    with Image.open(result.original) as image:
        durations = []
        for frame in range(image.n_frames):  # type: ignore[attr-defined]
            image.seek(frame)
            durations.append(image.info["duration"])
        assert durations == [100, 200, 300] and "comment" not in image.info
    assert result.preview_format == JPEG


def test_a_still_gif_becomes_a_png_and_avif_a_jpeg(tmp_path: Path) -> None:
    assert process(tmp_path, samples.image_bytes("GIF")).original_format == PNG
    assert process(tmp_path, samples.image_bytes("WEBP")).original_format == WEBP
    avif = samples.image_bytes("AVIF")
    assert sniff(avif[:64]) == AVIF and process(tmp_path, avif).original_format == JPEG


def test_the_blurhash_describes_the_picture(tmp_path: Path) -> None:
    red = process(tmp_path, samples.image_bytes("PNG", (64, 48), (220, 20, 20))).blurhash
    blue = process(tmp_path, samples.image_bytes("PNG", (64, 48), (20, 20, 220))).blurhash
    assert len(red) == 36 and red != blue  # 4x4 components: 2 + 4 + 2 x 15 characters
    r, g, b = blurhash.decode(red, 4, 4)[1][1]
    assert r > 150 and g < 80 and b < 80
