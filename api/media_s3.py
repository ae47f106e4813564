"""Media in an S3 bucket (AWS or any S3-compatible server) through boto3.

boto3 is synchronous, so every call runs in a worker thread. `upload_file` streams from disk and switches
to multipart uploads past 8 MB, so a 99 MB video is never held in memory. Objects are written with their
Content-Type and a long-lived Cache-Control (a key's bytes never change: a new upload gets a new key).
Public URLs are `public_url/<key>` when configured (a CDN, or a bucket website), else path-style
`endpoint/bucket/<key>`; making the objects readable there (a bucket policy) is the operator's choice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from api.media_store import check_key

CACHE_CONTROL = "public, max-age=31536000, immutable"
MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3MediaStore:
    """Objects under server-made keys in one bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        public_url: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("an s3:// media store URL needs a bucket: s3://bucket?endpoint=...")
        self.bucket = bucket
        keys: dict[str, Any] = {}
        if credentials is not None:  # otherwise boto3's chain: environment, shared files, instance role
            keys = {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]}
        # Path-style addressing works with every S3-compatible server and needs no wildcard DNS.
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"})
        self._client: Any = boto3.client(
            "s3", endpoint_url=endpoint, region_name=region or "us-east-1", config=config, **keys
        )
        base = public_url or f"{self._client.meta.endpoint_url}/{bucket}"
        self.public_url = base.rstrip("/")

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Upload `source` as the object `key`."""
        extra = {"ContentType": content_type, "CacheControl": CACHE_CONTROL}
        await asyncio.to_thread(self._client.upload_file, str(source), self.bucket, check_key(key), ExtraArgs=extra)

    async def read(self, key: str) -> bytes:
        """Return the object's bytes."""
        try:
            found = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(key) from None
            raise
        body: bytes = await asyncio.to_thread(found["Body"].read)
        return body

    async def delete(self, key: str) -> None:
        """Delete the object (S3 answers success for a missing key too)."""
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=check_key(key))

    def url(self, key: str) -> str:
        """Return the public URL of `key`."""
        return f"{self.public_url}/{check_key(key)}"

    async def close(self) -> None:
        """Close boto3's connection pool."""
        await asyncio.to_thread(self._client.close)
