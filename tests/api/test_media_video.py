"""ffmpeg processing for real: video to MP4 (H.264 + AAC), animated GIF to silent MP4, audio to MP3."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import media_video
from api.media_processing import UnprocessableMedia
from api.media_types import MP4, WEBM, MediaFormat, sniff
from api.media_video import Probe, check_video, first_frame, probe, transcode_audio, transcode_video, video_meta
from tests.api.media_av_samples import SECRET, generated


def written(tmp_path: Path, data: bytes) -> tuple[Path, MediaFormat]:
    """Write `data` as an upload would be and return it with its sniffed format."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    found = sniff(data[:64])
    assert found is not None
    return path, found


@pytest.mark.parametrize("kind", ["webm", "mp4", "mov"])
def test_a_video_becomes_h264_and_aac_mp4_with_its_size_duration_and_rate(tmp_path: Path, kind: str) -> None:
    source, found = written(tmp_path, generated(kind))
    target = tmp_path / "out.mp4"
    result = transcode_video(source, found, target)
    assert result.video_codec == "h264" and (result.width, result.height) == (64, 48)
    assert result.audio_codec == ("aac" if kind != "mov" else None)
    assert sniff(target.read_bytes()[:64]) == MP4
    meta = video_meta(result)
    assert meta["frame_rate"] == "10/1" and meta["duration"] == pytest.approx(1.0, abs=0.1)
    assert meta["bitrate"] > 0 and (meta["width"], meta["height"]) == (64, 48)
    assert "yuv420p" in _description(target)


def test_metadata_is_not_carried_over(tmp_path: Path) -> None:
    data = generated("mp4")
    assert SECRET.encode() in data
    source, found = written(tmp_path, data)
    transcode_video(source, found, tmp_path / "out.mp4")
    assert SECRET.encode() not in (tmp_path / "out.mp4").read_bytes()


def test_odd_dimensions_become_even_and_large_ones_are_scaled_to_1080p_worth(tmp_path: Path) -> None:
    source, found = written(tmp_path, generated("webm", size=(65, 49), seconds=0.2))
    assert (transcode_video(source, found, tmp_path / "odd.mp4").width, probe(tmp_path / "odd.mp4").height) == (64, 48)
    source, found = written(tmp_path, generated("mp4", size=(2560, 1440), seconds=0.1))
    large = transcode_video(source, found, tmp_path / "large.mp4")
    assert (large.width, large.height) == (1920, 1080)


def test_an_animated_gif_becomes_a_silent_mp4(tmp_path: Path) -> None:
    source, found = written(tmp_path, generated("gif", size=(33, 21)))
    result = transcode_video(source, found, tmp_path / "out.mp4", with_audio=False)
    assert result.video_codec == "h264" and result.audio_codec is None
    assert (result.width, result.height) == (32, 20) and result.duration == pytest.approx(1.0, abs=0.15)


def test_the_first_frame_is_extracted_as_png(tmp_path: Path) -> None:
    source, found = written(tmp_path, generated("webm"))
    transcode_video(source, found, tmp_path / "out.mp4")
    first_frame(tmp_path / "out.mp4", tmp_path / "frame.png")
    assert (tmp_path / "frame.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg", "mp4"])
def test_audio_becomes_mp3_without_its_tags(tmp_path: Path, kind: str) -> None:
    source, found = written(tmp_path, generated(kind))
    target = tmp_path / "out.mp3"
    result = transcode_audio(source, found, target)
    assert result.audio_codec == "mp3" and result.video_codec is None
    assert result.duration == pytest.approx(1.0, abs=0.1) and result.bitrate is not None
    assert SECRET.encode() not in target.read_bytes() and sniff(target.read_bytes()[:64]) is not None


def test_a_file_is_read_only_by_the_demuxer_of_its_sniffed_format(tmp_path: Path) -> None:
    source, found = written(tmp_path, generated("mp4"))
    assert found == MP4
    with pytest.raises(UnprocessableMedia, match="no video or audio stream"):
        transcode_video(source, WEBM, tmp_path / "out.mp4")


def test_a_file_that_only_starts_like_a_video_is_refused(tmp_path: Path) -> None:
    source, found = written(tmp_path, generated("mp4")[:64] + bytes(range(256)) * 8)
    with pytest.raises(UnprocessableMedia):
        transcode_video(source, found, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists() or (tmp_path / "out.mp4").stat().st_size == 0


def test_inputs_beyond_mastodons_bounds_are_refused_before_transcoding() -> None:
    def video(width: int, height: int, fps: float = 30.0, duration: float = 10.0) -> Probe:
        return Probe(duration, 1_000_000, width, height, fps, "h264", None)

    check_video(video(3840, 2160))
    for too_much, reason in (
        (video(3841, 2160), "too large"),
        (video(640, 360, fps=240.0), "frame rate"),
        (video(640, 360, duration=1201.0), "too long"),
        (Probe(10.0, 1000, None, None, None, None, "aac"), "no video stream"),
    ):
        with pytest.raises(UnprocessableMedia, match=reason):
            check_video(too_much)


def test_a_transcode_past_the_timeout_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, found = written(tmp_path, generated("webm"))
    monkeypatch.setattr(media_video, "TIMEOUT_SECONDS", 0.001)
    with pytest.raises(UnprocessableMedia, match="longer than"):
        transcode_video(source, found, tmp_path / "out.mp4")


def _description(path: Path) -> str:
    """Return ffmpeg's description of the file's streams."""
    return media_video._run(["-i", f"file:{path}"], check=False)
