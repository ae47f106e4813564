"""API configuration and the application keys handlers read their dependencies from."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from api.rate_limit_rules import RateLimits
from cluster.client import ClusterClient
from modules.auth.passwords import ScryptCost

VERSION = "4.3.0"


MB = 1 << 20


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Bounds on uploads; the defaults are Mastodon's (docs/media.md)."""

    image_bytes: int = 16 * MB
    video_bytes: int = 99 * MB  # audio too, as Mastodon
    description_chars: int = 1_500
    max_pixels: int = 33_177_600  # 7680x4320: images above are refused before decoding
    target_pixels: int = 8_294_400  # 3840x2160: images above are downscaled
    preview_pixels: int = 230_400  # 640x360 worth: the "small" preview
    animated_pixels: int = 100_000_000  # width x height x frames of an animated image

    def bytes_for(self, kind: str) -> int:
        """Return the size limit of an attachment type."""
        return self.image_bytes if kind == "image" else self.video_bytes

    @property
    def request_bytes(self) -> int:
        """The largest request body an upload may be (the largest file plus room for the other fields)."""
        return max(self.image_bytes, self.video_bytes) + MB


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """What the API needs to know about its deployment; the defaults suit `tusk run` on loopback."""

    base_url: str = "http://127.0.0.1:8080"
    title: str = "Tusk"
    description: str = "A Mastodon-compatible server on a dataflow engine"
    contact_email: str = ""
    registrations_open: bool = True
    password_cost: ScryptCost = field(default_factory=ScryptCost)
    rules: tuple[str, ...] = ()  # the server rules shown on /api/v1/instance/rules, in order
    # Where uploads go: `file://<dir>` or a path (served at /system/...), or `s3://bucket?endpoint=...`.
    media_store: str = "file:data/media"
    media_limits: MediaLimits = field(default_factory=MediaLimits)
    # Signs the authorization page's CSRF tokens: random per process by default (a restart only expires open
    # forms); several API servers of one instance derive it from their shared secret (`api.secret_key`).
    form_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    # Mastodon's throttles, on; tests and load benchmarks pass `rate_limit_rules.OFF`.
    rate_limits: RateLimits = field(default_factory=RateLimits)

    @property
    def domain(self) -> str:
        """The host (and port) accounts are local to."""
        return urlsplit(self.base_url).netloc


CLIENT = web.AppKey("client", ClusterClient)
CONFIG = web.AppKey("config", ApiConfig)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
