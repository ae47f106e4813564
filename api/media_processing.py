"""Image processing with Pillow: re-encode without metadata, bound the size, make a preview and a blurhash.

Every stored image is decoded and encoded again, which drops EXIF (GPS position, camera serial), XMP and
comments, as Mastodon does; only the ICC colour profile is kept (it changes how the picture looks, and
says nothing about who took it). The EXIF orientation is applied to the pixels first, so a photo stays
upright once its orientation tag is gone. The decoder is the one the sniffed format names (a file cannot
reach another decoder by lying about itself), and dimensions are checked before any pixel is decoded.

    JPEG -> JPEG   PNG -> PNG   WebP -> WebP   GIF -> GIF if animated, else PNG   AVIF -> JPEG (PNG if alpha)

Images over `target_pixels` (Mastodon: 3840x2160) are downscaled; over `max_pixels` refused. The preview
fits in `preview_pixels` (Mastodon's "small": 640x360 worth), JPEG, or PNG when there is transparency. The
blurhash is computed from a 32 px copy of the preview with 4x4 components (Mastodon's setting). Animated
images keep every frame and are not resized (animated GIFs up to 1280x720 become `gifv` in media_video).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blurhash
from PIL import Image, ImageOps, ImageSequence

from api.config import MediaLimits
from api.media_types import GIF, JPEG, PNG, WEBP, MediaFormat

PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
PILLOW_FORMATS["image/avif"] = "AVIF"
BLURHASH_SIDE = 32
BLURHASH_COMPONENTS = 4


class UnprocessableMedia(ValueError):
    """The file claims an image format but cannot be decoded, or its dimensions are out of bounds."""


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """The files to store and what the attachment says about them."""

    original: Path
    original_format: MediaFormat
    preview: Path
    preview_format: MediaFormat
    meta: dict[str, Any]  # {"original": dims, "small": dims}
    blurhash: str


def process_image(
    source: Path, detected: MediaFormat, work: Path, limits: MediaLimits, *, keep_format: bool = False
) -> ProcessedImage:
    """Re-encode the image at `source` into `work` (original and preview) and describe it.

    `keep_format` makes a still image's preview the format of its original (a video's PNG thumbnail stays PNG).
    """
    with _open(source, detected, limits) as image:
        animated = getattr(image, "n_frames", 1) > 1
        if animated:
            original_format = _save_animated(image, detected, work / "original")
            image.seek(0)
            first = image.copy()
        else:
            first = _upright(image, limits.target_pixels)
            original_format = _save_still(first, _still_format(detected, first), work / "original")
        original_size = first.size if not animated else image.size
    preview = _fit(first.convert("RGBA") if _has_alpha(first) else first.convert("RGB"), limits.preview_pixels)
    preview_format = PNG if preview.mode == "RGBA" else JPEG
    if keep_format and not animated:
        preview_format = original_format
    _save_still(preview, preview_format, work / "small")
    meta = {"original": dimensions(*original_size), "small": dimensions(*preview.size)}
    return ProcessedImage(
        original=work / f"original.{original_format.extension}",
        original_format=original_format,
        preview=work / f"small.{preview_format.extension}",
        preview_format=preview_format,
        meta=meta,
        blurhash=blurhash_of(preview),
    )


def dimensions(width: int, height: int) -> dict[str, Any]:
    """Return Mastodon's MetaDetails for a picture of this size."""
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


def blurhash_of(image: Image.Image) -> str:
    """Return the blurhash of `image` (computed on a small copy: the hash only keeps low frequencies)."""
    small = image.convert("RGB")
    small.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE), Image.Resampling.BILINEAR)
    pixels = [[small.getpixel((x, y)) for x in range(small.width)] for y in range(small.height)]
    return str(blurhash.encode(pixels, BLURHASH_COMPONENTS, BLURHASH_COMPONENTS))


def _open(source: Path, detected: MediaFormat, limits: MediaLimits) -> Image.Image:
    """Open with the sniffed format's decoder only; refuse undecodable files and oversized dimensions."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source, formats=[PILLOW_FORMATS[detected.mime]])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UnprocessableMedia(f"the file is not a valid {detected.mime} image") from None
    width, height = image.size
    frames = getattr(image, "n_frames", 1)
    if width * height > limits.max_pixels or (frames > 1 and width * height * frames > limits.animated_pixels):
        image.close()
        raise UnprocessableMedia(f"the image is too large ({width}x{height}, {frames} frame(s))")
    return image


def _upright(image: Image.Image, target_pixels: int) -> Image.Image:
    """Return the decoded still image turned as its EXIF says, downscaled to `target_pixels`."""
    try:
        image.load()
        turned = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise UnprocessableMedia(f"the image cannot be decoded: {error}") from None
    if turned.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        turned = turned.convert("RGBA" if _has_alpha(turned) else "RGB")  # CMYK, 16-bit, ...
    return _fit(turned, target_pixels)


def _fit(image: Image.Image, pixels: int) -> Image.Image:
    """Return `image` scaled down (never up) to at most `pixels`, keeping its aspect ratio."""
    width, height = image.size
    if width * height <= pixels:
        return image
    scale = math.sqrt(pixels / (width * height))
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _still_format(detected: MediaFormat, image: Image.Image) -> MediaFormat:
    if detected in (JPEG, PNG, WEBP):
        return detected
    if detected == GIF:
        return PNG
    return PNG if _has_alpha(image) else JPEG  # AVIF: served as what every client decodes


def _save_still(image: Image.Image, target: MediaFormat, stem: Path) -> MediaFormat:
    """Encode a still image as `target`, with no metadata but its colour profile."""
    kept = {"icc_profile": image.info["icc_profile"]} if image.info.get("icc_profile") else {}
    if target == JPEG and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if target == PNG and image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # keep transparency without carrying the palette's extra chunks
    clean = image.copy()
    clean.info = {}
    options: dict[str, Any] = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90}}.get(PILLOW_FORMATS[target.mime], {})
    clean.save(stem.with_suffix(f".{target.extension}"), PILLOW_FORMATS[target.mime], **options, **kept)
    return target


def _save_animated(image: Image.Image, detected: MediaFormat, stem: Path) -> MediaFormat:
    """Re-encode every frame, keeping timing and looping but no comments or other extensions."""
    target = detected if detected in (GIF, WEBP) else PNG
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100)))
        copy = frame.copy()
        copy.info = {}
        frames.append(copy)
    loop = int(image.info.get("loop", 0))
    first, rest = frames[0], frames[1:]
    first.save(
        stem.with_suffix(f".{target.extension}"),
        PILLOW_FORMATS[target.mime],
        save_all=True,
        append_images=rest,
        duration=durations,
        loop=loop,
    )
    return target


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
