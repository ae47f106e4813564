"""Media stores: server-made keys only, and the same behaviour from the local filesystem and a real S3 server."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.media_s3 import S3MediaStore
from api.media_store import InvalidKey, LocalMediaStore, MediaStore, check_key, new_keys, open_store
from tests.api.s3_server import S3Server

BASE = "http://127.0.0.1:8080"
TOKEN = "0123456789abcdef0123456789abcdef"
GOOD = f"media/01/{TOKEN}/original.png"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MediaStore]:
    """Each store implementation, empty but for what the test puts."""
    made: MediaStore
    if request.param == "local":
        made = LocalMediaStore(tmp_path / "media-root", BASE)
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        made = S3MediaStore(server.bucket, endpoint=server.endpoint, credentials=server.credentials)
    yield made
    asyncio.run(made.close())


def a_file(tmp_path: Path, data: bytes) -> Path:
    """Write `data` to a scratch file and return its path."""
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    return path


def test_new_keys_are_random_and_have_the_server_shape() -> None:
    first, second = new_keys(), new_keys()
    key = first.key("original", "jpg")
    assert check_key(key) == key
    assert key.startswith(f"media/{first.token[:2]}/{first.token}/")
    assert first.token != second.token and len(first.token) == 32


@pytest.mark.parametrize(
    "key",
    [
        "media/../../etc/passwd",
        f"media/01/{TOKEN}/../../../etc/passwd",
        f"/media/01/{TOKEN}/original.png",
        f"media/01/{TOKEN}/original.png/../x.png",
        f"media/01/{TOKEN}/%2e%2e/original.png",
        f"media/01/{TOKEN}/original.png\x00.html",
        f"media/ff/{TOKEN}/original.png",  # the fan-out directory must be the token's first two digits
        f"media/01/{TOKEN}/original.html",  # not one of our extensions
        f"media/01/{TOKEN}/original.svg",
        f"media/01/{TOKEN}/evil.png",  # not a variant
        f"media/01/{TOKEN.upper()}/original.png",
        f"other/01/{TOKEN}/original.png",
        "",
    ],
)
def test_keys_not_made_by_the_server_are_refused(key: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)
    with pytest.raises(InvalidKey):
        LocalMediaStore(tmp_path, BASE).path(key)


def test_variants_and_extensions_are_checked_when_making_keys() -> None:
    keys = new_keys()
    with pytest.raises(InvalidKey):
        keys.key("../original", "png")
    with pytest.raises(InvalidKey):
        keys.key("original", "php")


def test_a_stored_file_reads_back_and_deletes(store: MediaStore, tmp_path: Path) -> None:
    async def scenario() -> None:
        key = new_keys().key("original", "png")
        await store.put_file(key, a_file(tmp_path, b"\x89PNG bytes"), "image/png")
        assert await store.read(key) == b"\x89PNG bytes"
        await store.delete(key)
        with pytest.raises(FileNotFoundError):
            await store.read(key)
        await store.delete(key)  # deleting twice is not an error

    asyncio.run(scenario())


def test_a_store_refuses_client_made_keys(store: MediaStore, tmp_path: Path) -> None:
    async def scenario() -> None:
        with pytest.raises(InvalidKey):
            await store.put_file("media/../../escape.png", a_file(tmp_path, b"x"), "image/png")
        with pytest.raises(InvalidKey):
            await store.read("../../etc/passwd")
        with pytest.raises(InvalidKey):
            store.url("media/x.png")

    asyncio.run(scenario())
    assert not any(tmp_path.rglob("escape.png"))


def test_the_public_url_serves_the_bytes_with_their_type(s3_server: S3Server, tmp_path: Path) -> None:
    store = S3MediaStore(s3_server.bucket, endpoint=s3_server.endpoint, credentials=s3_server.credentials)
    key = new_keys().key("small", "jpg")
    asyncio.run(store.put_file(key, a_file(tmp_path, b"\xff\xd8\xff jpeg"), "image/jpeg"))
    url = store.url(key)
    assert url == f"{s3_server.endpoint}/{s3_server.bucket}/{key}"
    with urllib.request.urlopen(url, timeout=10) as response:  # anonymous, as a browser would fetch it
        assert response.read() == b"\xff\xd8\xff jpeg"
        assert response.headers["Content-Type"] == "image/jpeg"
        assert "immutable" in response.headers["Cache-Control"]
    asyncio.run(store.close())


def test_a_large_file_is_uploaded_in_parts(s3_server: S3Server, tmp_path: Path) -> None:
    store = S3MediaStore(s3_server.bucket, endpoint=s3_server.endpoint, credentials=s3_server.credentials)
    data = bytes(range(256)) * (40 * 1024 + 7)  # ~10 MB: past boto3's 8 MB multipart threshold
    key = new_keys().key("original", "mp4")

    async def scenario() -> bytes:
        await store.put_file(key, a_file(tmp_path, data), "video/mp4")
        return await store.read(key)

    assert asyncio.run(scenario()) == data
    asyncio.run(store.close())


def test_local_urls_are_under_system() -> None:
    store = LocalMediaStore(Path("/srv/media"), BASE + "/")
    assert store.url(GOOD) == f"{BASE}/system/{GOOD}"
    assert store.path(GOOD) == Path("/srv/media") / GOOD


def test_open_store_picks_the_implementation_from_the_url(s3_server: S3Server, tmp_path: Path) -> None:
    local = open_store(f"file://{tmp_path}", BASE)
    assert isinstance(local, LocalMediaStore) and local.root == tmp_path.resolve()
    relative = open_store("file:data/media", BASE)
    assert isinstance(relative, LocalMediaStore) and relative.root == Path("data/media").resolve()
    assert isinstance(open_store(str(tmp_path), BASE), LocalMediaStore)
    url = f"s3://{s3_server.bucket}?endpoint={s3_server.endpoint}&region=eu-west-1&public_url=https://cdn.test/m/"
    s3 = open_store(url, BASE)
    assert isinstance(s3, S3MediaStore) and s3.bucket == s3_server.bucket
    assert s3.url(GOOD) == f"https://cdn.test/m/{GOOD}"


@pytest.mark.parametrize("url", ["ftp://host/media", "s3://?endpoint=http://127.0.0.1:1", "file://"])
def test_open_store_refuses_what_it_cannot_use(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(url, BASE)
