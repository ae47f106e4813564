"""The media routes over the real app: scopes, refusals before anything is stored, and local file serving."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.config import MediaLimits
from api.media_store import LocalMediaStore, new_keys
from tests.api import media_samples as samples
from tests.api.media_support import served_media, upload, upload_form, user_token
from tests.api.support import bearer

PNG = samples.image_bytes("PNG")


def test_uploading_needs_a_user_token_with_write_media(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            response = await client.post("/api/v2/media", data=upload_form(PNG))
            assert response.status == 401
            reader = await user_token(client, scope="read")
            response = await client.post("/api/v1/media", data=upload_form(PNG), headers=bearer(reader))
            assert response.status == 403 and "error" in await response.json()
            for method, path in (("GET", "/api/v1/media/1"), ("PUT", "/api/v1/media/1")):
                response = await client.request(method, path, headers=bearer(reader))
                assert response.status == 403, (method, path)

    asyncio.run(scenario())
    assert not (tmp_path / "media").exists()


@pytest.mark.parametrize(
    ("data", "fields", "message"),
    [
        (b"%PDF-1.7 a document", {}, "File content type is invalid"),
        (b"<svg onload='alert(1)'/>", {"declared": "image/png"}, "File content type is invalid"),
        (samples.MKV_HEAD + b"\x00" * 100, {}, "File content type is invalid"),
        (b"\xff\xd8\xff\xe0 truncated jpeg" * 4, {}, "not a valid image/jpeg image"),
        (PNG, {"description": "x" * 1_501}, "description is too long (maximum is 1500 characters)"),
        (PNG, {"focus": "0.5"}, 'focus must be two numbers "x,y"'),
        (PNG, {"focus": "1.5,0"}, "focus coordinates must be within -1.0 and 1.0"),
        (PNG, {"focus": "a,b"}, 'focus must be two numbers "x,y"'),
    ],
)
def test_bad_uploads_are_422_and_nothing_is_stored(
    tmp_path: Path, data: bytes, fields: dict[str, str], message: str
) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            status, body = await upload(client, await user_token(client), data, **fields)
            assert status == 422, body
            assert body["error"].startswith("Validation failed: ") and message in body["error"]

    asyncio.run(scenario())
    assert not any((tmp_path / "media").rglob("*.*")) if (tmp_path / "media").exists() else True


def test_the_size_limit_depends_on_the_sniffed_type_not_the_declared_one(tmp_path: Path) -> None:
    limits = MediaLimits(image_bytes=2_000, video_bytes=50_000)
    big_png = samples.image_bytes("PNG", (300, 300), compress_level=0)
    assert len(big_png) > 2_000

    async def scenario() -> None:
        async with served_media(tmp_path, limits=limits) as (client, _):
            token = await user_token(client)
            status, body = await upload(client, token, big_png, filename="clip.mp4", declared="video/mp4")
            assert status == 422 and body["error"] == "Validation failed: File file size must be less than 2000 bytes"
            huge = samples.MP4_HEAD + b"\x00" * 60_000
            status, body = await upload(client, token, huge)
            assert status == 422 and "File file size must be less than" in body["error"]

    asyncio.run(scenario())


def test_a_body_larger_than_any_upload_is_413_before_it_is_read(tmp_path: Path) -> None:
    limits = MediaLimits(image_bytes=1_000, video_bytes=1_000)

    async def scenario() -> None:
        async with served_media(tmp_path, limits=limits) as (client, _):
            token = await user_token(client)
            body = io.BytesIO(b"x" * (limits.request_bytes + 1))
            headers = {**bearer(token), "Content-Type": "multipart/form-data; boundary=zzz"}
            response = await client.post("/api/v2/media", data=body, headers=headers)
            assert response.status == 413 and "error" in await response.json()

    asyncio.run(scenario())


def test_a_request_without_a_file_is_422(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            token = await user_token(client)
            response = await client.post("/api/v1/media", data={"description": "hi"}, headers=bearer(token))
            assert response.status == 422 and "File can't be blank" in (await response.json())["error"]
            response = await client.post("/api/v1/media", json={"file": "x"}, headers=bearer(token))
            assert response.status == 422

    asyncio.run(scenario())


def test_local_media_is_served_with_its_type_and_nothing_else_is(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, config):
            store = LocalMediaStore(tmp_path / "media", config.base_url)
            key = new_keys().key("original", "png")
            source = tmp_path / "source.png"
            source.write_bytes(PNG)
            await store.put_file(key, source, "image/png")
            (tmp_path / "secret.txt").write_text("not media")
            response = await client.get(urlsplit(store.url(key)).path)
            assert response.status == 200 and await response.read() == PNG
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "immutable" in response.headers["Cache-Control"]
            token = key.split("/")[2]
            for path in (
                "/system/media/",  # no directory listing
                f"/system/media/{token[:2]}/{token}/",
                f"/system/media/{token[:2]}/{token}/small.png",  # well-formed, absent
                "/system/media/../secret.txt",
                "/system/media/%2e%2e/%2e%2e/secret.txt",
                f"/system/media/{token[:2]}/{token}/..%2f..%2f..%2fsecret.txt",
                "/system/../../etc/passwd",
            ):
                response = await client.get(path)
                assert response.status == 404, path
                assert b"not media" not in await response.read()

    asyncio.run(scenario())


def test_a_thumbnail_must_be_an_image(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            form = upload_form(samples.MP4_HEAD * 4)
            form.add_field("thumbnail", samples.MP3_ID3_HEAD * 4, filename="t.png", content_type="image/png")
            response = await client.post("/api/v2/media", data=form, headers=bearer(await user_token(client)))
            body = await response.json()
            assert response.status == 422 and "Thumbnail content type is invalid" in body["error"]

    asyncio.run(scenario())
