"""Video, animated-GIF and audio processing with the ffmpeg binary bundled by the `imageio-ffmpeg` wheel.

As Mastodon does: video (WebM, MOV, MP4, Ogg Theora) becomes MP4 with H.264 video (yuv420p, even
dimensions) and AAC audio; an animated GIF becomes a silent MP4 (`gifv`); audio becomes MP3. Every output
drops the container's metadata (`-map_metadata -1`: MP4 `udta`, ID3, Vorbis comments), chapters, subtitles
and data streams. Inputs are bounded before any transcoding (Mastodon's limits: 3840x2160, 120 fps,
36,000 frames), output is at most 1920x1080 worth of pixels and 60 fps (a 4K transcode on a small server
would outrun the timeout), and every ffmpeg run has a wall-clock timeout and an output size cap.

ffmpeg is asked to read the input only with the demuxer of the sniffed format and only from a local file
(`-protocol_whitelist file`): a file cannot reach another demuxer, nor a playlist make ffmpeg open other
files or URLs. There is no ffprobe in the wheel, so `probe` reads ffmpeg's own description of the input.
Functions here block; callers run them in a worker thread.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from api.media_processing import UnprocessableMedia
from api.media_types import MediaFormat

MAX_INPUT_PIXELS = 3840 * 2160
MAX_INPUT_FPS = 120
MAX_INPUT_FRAMES = 36_000  # about 5 minutes at 120 fps, 20 minutes at 30 fps
OUTPUT_PIXELS = 1920 * 1080
OUTPUT_FPS = 60
GIFV_PIXELS = 1280 * 720  # larger animated GIFs stay images, as in Mastodon
TIMEOUT_SECONDS = 300.0
OUTPUT_BYTES = 200 * 1024 * 1024

DEMUXERS = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/webm": "matroska",
    "video/ogg": "ogg",
    "image/gif": "gif",
    "audio/mp4": "mov",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "audio/wave": "wav",
    "audio/flac": "flac",
}
# Scale down to OUTPUT_PIXELS (never up), keeping the aspect ratio, to even sizes (yuv420p needs them).
_FACTOR = f"min(1,sqrt({OUTPUT_PIXELS}/(iw*ih)))"
SCALE = f"scale=w='max(2,trunc(iw*{_FACTOR}/2)*2)':h='max(2,trunc(ih*{_FACTOR}/2)*2)'"
H264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-maxrate", "1300k", "-bufsize", "2600k"]
H264 += ["-pix_fmt", "yuv420p", "-fpsmax", str(OUTPUT_FPS), "-vf", SCALE]
STRIP = ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"]
MP4_OUT = ["-movflags", "+faststart", "-f", "mp4"]

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_BITRATE = re.compile(r"bitrate: (\d+) kb/s")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\d+)x(\d+)[ ,]")
_FPS = re.compile(r", (\d+(?:\.\d+)?)(k?) fps")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)")


@dataclass(frozen=True, slots=True)
class Probe:
    """What ffmpeg says about a media file (None where it says nothing)."""

    duration: float | None  # seconds
    bitrate: int | None  # bits per second, whole file
    width: int | None
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None


def ffmpeg() -> str:
    """Return the path of the bundled ffmpeg binary (or of `IMAGEIO_FFMPEG_EXE` if set)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def probe(path: Path, detected: MediaFormat | None = None) -> Probe:
    """Describe the file at `path`, read with the demuxer of `detected` (guessed by ffmpeg if None)."""
    text = _run([*_input(path, detected)], check=False)
    header = text.split("Stream #", 1)[0]
    duration = _DURATION.search(header)
    bitrate = _BITRATE.search(header)
    video = _VIDEO.search(text)
    audio = _AUDIO.search(text)
    fps = _FPS.search(text[video.end() :].split("\n", 1)[0]) if video else None
    if video is None and audio is None:
        raise UnprocessableMedia("the file has no video or audio stream ffmpeg can read")
    return Probe(
        duration=_seconds(duration) if duration else None,
        bitrate=int(bitrate.group(1)) * 1000 if bitrate else None,
        width=int(video.group(2)) if video else None,
        height=int(video.group(3)) if video else None,
        fps=float(fps.group(1)) * (1000 if fps.group(2) else 1) if fps else None,
        video_codec=video.group(1) if video else None,
        audio_codec=audio.group(1) if audio else None,
    )


def check_video(found: Probe) -> None:
    """Refuse a video without pictures or beyond the input bounds, before spending time on it."""
    if found.width is None or found.height is None:
        raise UnprocessableMedia("the file has no video stream")
    if found.width * found.height > MAX_INPUT_PIXELS:
        raise UnprocessableMedia(f"the video is too large ({found.width}x{found.height}, at most 3840x2160)")
    if found.fps is not None and found.fps > MAX_INPUT_FPS:
        raise UnprocessableMedia(f"the video frame rate is too high ({found.fps:g} fps, at most {MAX_INPUT_FPS})")
    if found.fps and found.duration and found.fps * found.duration > MAX_INPUT_FRAMES:
        raise UnprocessableMedia(f"the video is too long (more than {MAX_INPUT_FRAMES} frames)")


def transcode_video(source: Path, detected: MediaFormat, target: Path, *, with_audio: bool = True) -> Probe:
    """Write `source` as MP4 (H.264, AAC unless `with_audio` is False) to `target`; return its probe."""
    check_video(probe(source, detected))
    audio = ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"] if with_audio else ["-an"]
    _run([*_input(source, detected), "-map", "0:v:0", *audio, *H264, *STRIP, *_bounded(), *MP4_OUT, str(target)])
    return probe(target)


def transcode_audio(source: Path, detected: MediaFormat, target: Path) -> Probe:
    """Write the audio of `source` as MP3 (LAME VBR ~190 kb/s) to `target`; return its probe."""
    found = probe(source, detected)
    if found.audio_codec is None:
        raise UnprocessableMedia("the file has no audio stream")
    if found.duration is not None and found.duration > MAX_INPUT_FRAMES / 30:
        raise UnprocessableMedia("the audio is too long")
    codec = ["-map", "0:a:0", "-c:a", "libmp3lame", "-q:a", "2", "-write_xing", "1"]
    _run([*_input(source, detected), *codec, *STRIP, "-id3v2_version", "0", *_bounded(), "-f", "mp3", str(target)])
    return probe(target)


def first_frame(video: Path, target: Path) -> None:
    """Write the first frame of the (already transcoded) `video` as a PNG, the source of its preview."""
    _run([*_input(video, None), "-map", "0:v:0", "-frames:v", "1", *STRIP, "-f", "image2", "-c:v", "png", str(target)])


def video_meta(found: Probe) -> dict[str, Any]:
    """Return Mastodon's `meta.original` of a video or gifv."""
    assert found.width is not None and found.height is not None
    meta: dict[str, Any] = {"width": found.width, "height": found.height}
    if found.fps:
        rate = Fraction(found.fps).limit_denominator(1001)
        meta["frame_rate"] = f"{rate.numerator}/{rate.denominator}"  # Mastodon's form: "30/1", "30000/1001"
    return meta | _time_meta(found)


def audio_meta(found: Probe) -> dict[str, Any]:
    """Return Mastodon's `meta.original` of an audio file."""
    return _time_meta(found)


def _time_meta(found: Probe) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if found.duration is not None:
        meta["duration"] = found.duration
    if found.bitrate is not None:
        meta["bitrate"] = found.bitrate
    return meta


def _input(path: Path, detected: MediaFormat | None) -> list[str]:
    demuxer = ["-f", DEMUXERS[detected.mime]] if detected is not None else []
    return ["-protocol_whitelist", "file", *demuxer, "-i", f"file:{path}"]


def _bounded() -> list[str]:
    return ["-fs", str(OUTPUT_BYTES)]


def _run(arguments: list[str], *, check: bool = True) -> str:
    """Run ffmpeg with `arguments`; return what it wrote on stderr. Failures and timeouts are unprocessable."""
    quiet = ["-loglevel", "error"] if check else []  # a probe reads the stream descriptions of the info level
    command = [ffmpeg(), "-nostdin", "-hide_banner", *quiet, "-y", *arguments]
    try:
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise UnprocessableMedia(f"the file took longer than {TIMEOUT_SECONDS:g} s to process") from None
    text = done.stderr.decode("utf-8", "replace")
    if check and done.returncode != 0:
        raise UnprocessableMedia(f"the file cannot be processed: {_last_line(text)}")
    return text


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "ffmpeg failed"


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds = match.groups()
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds), 3)
