"""Real small video, animated GIF and audio files, made by the bundled ffmpeg from its test sources."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

from api.media_video import ffmpeg

SECRET = "Secret Place 48.8566N"  # written as container metadata: processing must drop it


@functools.cache
def generated(kind: str, size: tuple[int, int] = (64, 48), seconds: float = 1.0, rate: int = 10) -> bytes:
    """Return a generated file: "webm", "mp4" (H.264 + AAC), "mov", "gif" (animated), "wav", "flac" or "ogg"."""
    picture = ["-f", "lavfi", "-i", f"testsrc=size={size[0]}x{size[1]}:rate={rate}:duration={seconds}"]
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={seconds}"]
    tags = ["-metadata", f"title={SECRET}", "-metadata", f"comment={SECRET}"]
    arguments = {
        "webm": [*picture, *sound, "-c:v", "libvpx", "-c:a", "libvorbis", *tags, "-f", "webm"],
        "mp4": [*picture, *sound, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", *tags, "-f", "mp4"],
        "mov": [*picture, "-c:v", "libx264", "-pix_fmt", "yuv444p", *tags, "-f", "mov"],
        "gif": [*picture, "-f", "gif"],
        "wav": [*sound, *tags, "-f", "wav"],
        "flac": [*sound, *tags, "-f", "flac"],
        "ogg": [*sound, "-c:a", "libvorbis", *tags, "-f", "ogg"],
    }[kind]
    with tempfile.TemporaryDirectory(prefix="tusk-av-") as work:
        target = Path(work) / "out"
        command = [ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", *arguments, str(target)]
        subprocess.run(command, check=True, timeout=60)
        return target.read_bytes()
