"""Signed-up users with their tokens and ids, for the account-route tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from tests.api.support import app_token, bearer, make_app, signup


@dataclass(frozen=True, slots=True)
class User:
    """A registered account: its name, id and user token."""

    name: str
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this user."""
        return bearer(self.token)


async def sign_up(client: TestClient[Any, Any], *names: str) -> list[User]:
    """Register `names` through the API and return them."""
    token = await app_token(client, await make_app(client))
    users = []
    for name in names:
        user_token = await signup(client, token, name)
        me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
        users.append(User(name, (await me.json())["id"], user_token))
    return users


async def ok(response: Any) -> Any:
    """Return the JSON body of a 200 response (failing with the body otherwise)."""
    assert response.status == 200, await response.text()
    return await response.json()


async def error(response: Any, status: int) -> str:
    """Return the `error` of a response that must have `status`."""
    assert response.status == status, await response.text()
    message: str = (await response.json())["error"]
    return message
