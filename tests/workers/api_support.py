"""Helpers of the `tusk api` tests: the API server subprocess and REST calls over a real HTTP session."""

from __future__ import annotations

import asyncio
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.workers.support import poll_until

STOP_BOUND_S = 10.0
Json = dict[str, Any]


@dataclass
class ApiProcess:
    """A `tusk api` subprocess and where it serves."""

    process: asyncio.subprocess.Process
    stderr: Path
    base_url: str

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL past the bound."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), STOP_BOUND_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_api(url: str, directory: Path, tasks: int) -> ApiProcess:
    """Start `tusk api` over the workers of `url` (no rate limits, media under `directory`); wait until it serves."""
    port = free_port()
    stderr = directory / "api.stderr"
    command = [sys.executable, "-m", "cluster.cli", "api", "--broker", url, "--port", str(port)]
    command += ["--tasks", str(tasks), "--no-rate-limits", "--media-store", f"file:{directory / 'media'}"]
    with stderr.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=sink, stdin=asyncio.subprocess.DEVNULL
        )
    api = ApiProcess(process, stderr, f"http://127.0.0.1:{port}")

    async def health() -> int:
        if process.returncode is not None:
            raise AssertionError(f"tusk api exited {process.returncode}: {stderr.read_text()[-3000:]}")
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{api.base_url}/health") as response:
                return response.status
        except aiohttp.ClientConnectionError:
            return 0

    await poll_until(health, lambda status: status == 200, 60, "tusk api to serve /health")
    return api


class Rest:
    """JSON calls to the API under `base_url`, asserting the expected status."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def call(self, method: str, path: str, token: str | None = None, status: int = 200, **kw: Any) -> Any:
        """`method path` (with `token`'s bearer header); assert `status`; return the decoded JSON."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, self.base_url + path, headers=headers, **kw) as response:
            text = await response.text()
            assert response.status == status, f"{method} {path}: {response.status} {text[:500]}"
            return await response.json() if text else None

    async def eventually(self, method: str, path: str, token: str | None = None, bound_s: float = 30.0) -> Any:
        """`call`, retried while it answers 404: on workers a write's hops to other tasks land after its ack."""

        async def attempt() -> tuple[int, Any]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with self.session.request(method, self.base_url + path, headers=headers) as response:
                return response.status, await response.json()

        status, found = await poll_until(attempt, lambda answer: answer[0] != 404, bound_s, f"{method} {path}")
        assert status == 200, f"{method} {path}: {status} {found}"
        return found

    async def app_token(self) -> tuple[Json, str]:
        """Register an OAuth app; return it and a client_credentials token of it."""
        body = {"client_name": "e2e", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"}
        app: Json = await self.call("POST", "/api/v1/apps", json=body)
        form = {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }
        token = await self.call("POST", "/oauth/token", data={**form, "scope": "read write follow"})
        return app, str(token["access_token"])

    async def signup(self, app_token: str, username: str) -> str:
        """Register `username` (password `<username>-pass`); return its user token."""
        body = {"username": username, "email": f"{username}@example.org", "password": f"{username}-pass"}
        found = await self.call("POST", "/api/v1/accounts", app_token, json={**body, "agreement": True})
        return str(found["access_token"])

    async def login(self, app: Json, username: str) -> str:
        """Log `username` in with the OAuth password grant; return the token."""
        form = {"grant_type": "password", "username": username, "password": f"{username}-pass"}
        form |= {"client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "read write follow"}
        return str((await self.call("POST", "/oauth/token", data=form))["access_token"])
