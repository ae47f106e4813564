"""API configuration and the application keys handlers read their dependencies from."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from cluster.client import ClusterClient
from modules.auth.passwords import ScryptCost

VERSION = "4.3.0"


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
    # Signs the authorization page's CSRF tokens; random per process, so a restart only expires open forms.
    form_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @property
    def domain(self) -> str:
        """The host (and port) accounts are local to."""
        return urlsplit(self.base_url).netloc


CLIENT = web.AppKey("client", ClusterClient)
CONFIG = web.AppKey("config", ApiConfig)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
