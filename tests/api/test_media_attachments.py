"""Uploads end to end over core's media metadata: entity, files, v1/v2 statuses, show, update, S3."""

from __future__ import annotations

import asyncio
import io
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from tests.api import media_av_samples as av
from tests.api import media_samples as samples
from tests.api.media_support import needs_core_media, served_media, upload, upload_form, user_token
from tests.api.openapi import assert_valid, load_schemas
from tests.api.s3_server import S3Server
from tests.api.support import bearer

pytestmark = needs_core_media


async def fetch(client: TestClient[Any, Any], url: str) -> tuple[bytes, str]:
    """GET a locally served media URL through the test server; return its bytes and Content-Type."""
    response = await client.get(urlsplit(url).path)
    assert response.status == 200, url
    return await response.read(), response.headers["Content-Type"]


def test_an_image_upload_is_processed_stored_and_described(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            token = await user_token(client)
            fields = {"description": "a red field", "focus": "0.5,-0.25", "filename": "../../etc/x.png"}
            status, media = await upload(client, token, samples.camera_jpeg((80, 40)), version=1, **fields)
            assert status == 200, media
            assert_valid(schemas, "MediaAttachment", media)
            assert media["type"] == "image" and media["description"] == "a red field"
            assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
            assert media["meta"]["original"]["size"] == "40x80" and len(media["blurhash"]) == 36
            assert "/system/media/" in media["url"] and "etc" not in media["url"]
            original, kind = await fetch(client, media["url"])
            assert kind == "image/jpeg" and samples.SECRET.encode() not in original
            assert Image.open(io.BytesIO(original)).size == (40, 80)
            preview, kind = await fetch(client, media["preview_url"])
            assert kind == "image/jpeg" and preview[:3] == b"\xff\xd8\xff"

    asyncio.run(scenario())


def test_v2_answers_202_without_url_for_video_and_audio_then_show_has_it(tmp_path: Path) -> None:
    schemas = load_schemas()
    video, audio = av.generated("webm"), av.generated("wav")

    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            token = await user_token(client)
            status, image = await upload(client, token, samples.image_bytes("PNG"))
            assert status == 200 and image["url"] is not None
            for data, kind, mime in ((video, "video", "video/mp4"), (audio, "audio", "audio/mpeg")):
                status, media = await upload(client, token, data, filename="x.png", declared="image/png")
                assert status == 202 and media["type"] == kind and media["url"] is None, media
                assert_valid(schemas, "MediaAttachment", media)
                shown = await client.get(f"/api/v1/media/{media['id']}", headers=bearer(token))
                body = await shown.json()
                assert shown.status == 200 and body["url"].endswith("." + mime.split("/")[1].replace("mpeg", "mp3"))
                stored, served_as = await fetch(client, body["url"])
                assert served_as == mime and stored != data and av.SECRET.encode() not in stored
                assert body["meta"]["original"]["duration"] == pytest.approx(1.0, abs=0.1)
            status, media = await upload(client, token, video, version=1)
            assert status == 200 and media["url"] is not None

    asyncio.run(scenario())


def test_a_video_is_transcoded_and_previewed_by_its_first_frame(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            status, media = await upload(client, await user_token(client), av.generated("mov"), version=1)
            assert status == 200 and media["type"] == "video" and media["url"].endswith(".mp4"), media
            assert_valid(schemas, "MediaAttachment", media)
            original = media["meta"]["original"]
            assert (original["width"], original["height"], original["frame_rate"]) == (64, 48, "10/1")
            assert media["meta"]["small"]["size"] == "64x48" and media["blurhash"] is not None
            preview, kind = await fetch(client, media["preview_url"])
            assert kind == "image/jpeg" and Image.open(io.BytesIO(preview)).size == (64, 48)

    asyncio.run(scenario())


def test_an_animated_gif_becomes_gifv_and_a_still_one_stays_an_image(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            token = await user_token(client)
            status, media = await upload(client, token, av.generated("gif"), version=1)
            assert status == 200 and media["type"] == "gifv" and media["url"].endswith(".mp4"), media
            assert media["meta"]["original"]["width"] == 64 and media["preview_url"].endswith(".jpg")
            assert (await fetch(client, media["url"]))[1] == "video/mp4"
            status, still = await upload(client, token, samples.image_bytes("GIF"), version=1)
            assert status == 200 and still["type"] == "image" and still["url"].endswith(".png")

    asyncio.run(scenario())


def test_a_video_takes_the_clients_thumbnail_as_its_preview(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            form = upload_form(av.generated("webm"), filename="clip.webm", declared="video/webm")
            thumbnail = samples.image_bytes("PNG", (32, 18), (10, 200, 10))
            form.add_field("thumbnail", thumbnail, filename="t.png", content_type="image/png")
            response = await client.post("/api/v1/media", data=form, headers=bearer(await user_token(client)))
            media = await response.json()
            assert response.status == 200 and media["type"] == "video"
            assert media["meta"]["small"]["size"] == "32x18" and media["meta"]["original"]["width"] == 64
            assert media["blurhash"] is not None and "keys" not in media["meta"]
            preview, kind = await fetch(client, media["preview_url"])
            assert kind == "image/png" and Image.open(io.BytesIO(preview)).size == (32, 18)

    asyncio.run(scenario())


def test_a_file_ffmpeg_cannot_read_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            status, body = await upload(client, await user_token(client), samples.MP4_HEAD + bytes(range(256)) * 8)
            assert status == 422 and "video or audio stream" in body["error"]
            assert not [path for path in (tmp_path / "media").rglob("*") if path.is_file()]

    asyncio.run(scenario())


def test_update_changes_description_and_focus_of_ones_own_media_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            alice, bob = await user_token(client, "alice"), await user_token(client, "bob")
            _, media = await upload(client, alice, samples.image_bytes("PNG"))
            path = f"/api/v1/media/{media['id']}"
            response = await client.put(
                path, data={"description": "now described", "focus": "-1,1"}, headers=bearer(alice)
            )
            body = await response.json()
            assert response.status == 200 and body["description"] == "now described"
            assert body["meta"]["focus"] == {"x": -1.0, "y": 1.0}
            response = await client.put(path, json={"focus": "2,0"}, headers=bearer(alice))
            assert response.status == 422
            response = await client.put(path, json={"description": "y" * 1_501}, headers=bearer(alice))
            assert response.status == 422
            for method in ("GET", "PUT"):
                response = await client.request(method, path, json={"description": "mine"}, headers=bearer(bob))
                assert response.status == 404, method
            shown = await (await client.get(path, headers=bearer(alice))).json()
            assert shown["description"] == "now described"
            assert (await client.get("/api/v1/media/12345", headers=bearer(alice))).status == 404
            assert (await client.get("/api/v1/media/../x", headers=bearer(alice))).status == 404

    asyncio.run(scenario())


def test_a_retried_upload_with_the_same_idempotency_key_is_one_attachment(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            token = await user_token(client)
            ids = set()
            for _ in range(2):
                headers = {**bearer(token), "Idempotency-Key": "upload-1"}
                response = await client.post(
                    "/api/v2/media", data=upload_form(samples.image_bytes("PNG")), headers=headers
                )
                ids.add((await response.json())["id"])
            assert len(ids) == 1

    asyncio.run(scenario())


def test_uploads_go_to_s3_when_configured(tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.credentials[0])  # boto3's usual credential chain
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.credentials[1])
    store = f"s3://{s3_server.bucket}?endpoint={s3_server.endpoint}"

    async def scenario() -> dict[str, Any]:
        async with served_media(tmp_path, store=store) as (client, _):
            status, media = await upload(client, await user_token(client), samples.tagged_png())
            assert status == 200, media
            return media

    media = asyncio.run(scenario())
    assert media["url"].startswith(f"{s3_server.endpoint}/{s3_server.bucket}/media/")
    with urllib.request.urlopen(media["url"], timeout=10) as response:
        stored = response.read()
        assert response.headers["Content-Type"] == "image/png"
    assert stored.startswith(b"\x89PNG") and samples.SECRET.encode() not in stored
    assert not (tmp_path / "media").exists()
