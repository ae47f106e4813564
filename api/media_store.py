"""Where media bytes live: one interface, a local-filesystem store (the default) and S3, chosen by a URL.

Keys are made here and only here: `media/<aa>/<token>/<variant>.<ext>`, where `token` is 128 random bits
(hex), `aa` its first two digits (so no directory grows past a few thousand entries), `variant` is
`original` or `small` and `ext` one of ours (`media_types.EXTENSIONS`). Nothing a client sends (filename,
path, Content-Type) ever reaches a key, and every store refuses a key that does not match this shape, so a
bad key cannot climb out of the store's root or bucket prefix whatever its caller does.

    file:///var/lib/tusk/media    (or a plain path) LocalMediaStore, served by the app at /system/<key>
    s3://bucket?endpoint=http://127.0.0.1:8333&region=us-east-1&public_url=https://cdn.example/media
                                  S3MediaStore (media_s3.py); credentials from boto3's usual chain
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from api.media_types import EXTENSIONS

VARIANTS = ("original", "small")
KEY = re.compile(r"media/([0-9a-f]{2})/([0-9a-f]{32})/(original|small)\.([a-z0-9]{2,4})")
LOCAL_PREFIX = "/system/"  # where the app serves a LocalMediaStore's keys


class InvalidKey(ValueError):
    """A key that the server did not make (wrong shape, traversal attempt, unknown extension)."""


@dataclass(frozen=True, slots=True)
class MediaKeys:
    """The keys of one upload's files: the original and its preview share the random token."""

    token: str

    def key(self, variant: str, extension: str) -> str:
        """Return the key of `variant` stored with `extension`."""
        return check_key(f"media/{self.token[:2]}/{self.token}/{variant}.{extension}")


def new_keys() -> MediaKeys:
    """Return the keys of a new upload, under a fresh random token."""
    return MediaKeys(secrets.token_hex(16))


def check_key(key: str) -> str:
    """Return `key` if it has the shape the server makes, else raise InvalidKey."""
    match = KEY.fullmatch(key)
    if match is None or match[1] != match[2][:2] or match[4] not in EXTENSIONS:
        raise InvalidKey(f"not a media key: {key[:80]!r}")
    return key


class MediaStore(Protocol):
    """Stores files under server-made keys and tells their public URLs."""

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Store the file at `source` under `key` (the source is left in place)."""
        ...

    async def read(self, key: str) -> bytes:
        """Return the bytes stored under `key` (FileNotFoundError if none)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""
        ...

    def url(self, key: str) -> str:
        """Return the public URL of `key`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class LocalMediaStore:
    """Files under a root directory; the app serves them at `<base_url>/system/<key>`."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        """Return the file of `key` (which must be a server key: never outside the root)."""
        return self.root / check_key(key)

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Copy `source` to the key's file; written beside it and renamed, so readers never see half a file."""
        await asyncio.to_thread(self._put, self.path(key), source)

    async def read(self, key: str) -> bytes:
        """Return the file's bytes."""
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def delete(self, key: str) -> None:
        """Remove the key's file."""
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        """Return `<base_url>/system/<key>`."""
        return self.base_url + LOCAL_PREFIX + check_key(key)

    async def close(self) -> None:
        """Nothing to release."""

    @staticmethod
    def _put(target: Path, source: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        shutil.copyfile(source, partial)
        os.replace(partial, target)


def open_store(url: str, base_url: str) -> MediaStore:
    """Return the store a configuration URL names: `file://...` (or a bare path) or `s3://bucket?...`."""
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        host = "" if parts.netloc in ("", "localhost") else parts.netloc  # file://./data is relative
        path = host + unquote(parts.path) if parts.scheme else url
        if not path:
            raise ValueError(f"media store URL has no path: {url!r}")
        return LocalMediaStore(Path(path), base_url)
    if parts.scheme == "s3":
        from api.media_s3 import S3MediaStore  # boto3 is imported only by deployments that use S3

        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        return S3MediaStore(
            bucket=parts.netloc,
            endpoint=query.get("endpoint"),
            region=query.get("region"),
            public_url=query.get("public_url"),
        )
    raise ValueError(f"unknown media store scheme {parts.scheme!r}: use file:// or s3://")
