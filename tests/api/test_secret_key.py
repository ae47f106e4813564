"""The instance secret: API servers sharing it accept each other's authorization forms; bad secrets are refused."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.login_page import CSRF_COOKIE
from api.secret_key import SECRET_ENV, SecretKeyError, configured_secret, form_key
from cluster.inprocess import InProcessCluster
from cluster.serve import launch
from cluster.testing import FakeClock
from tests.api.oauth_support import authorize_query, client_app, open_form, pkce_pair, submit, user
from tests.api.support import CHEAP

SECRET = "0123456789abcdef" * 4


def test_the_secret_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(f"  {SECRET}\n")
    assert configured_secret(secret_file, {}) == SECRET
    assert configured_secret(None, {SECRET_ENV: SECRET}) == SECRET
    assert configured_secret(secret_file, {SECRET_ENV: "x" * 40}) == SECRET  # the file wins
    assert configured_secret(None, {}) is None
    assert form_key(SECRET) == form_key(SECRET) != form_key(SECRET[::-1])


def test_a_missing_or_short_secret_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match=r"cannot read the secret key file .*nowhere"):
        configured_secret(tmp_path / "nowhere", {})
    with pytest.raises(SecretKeyError, match=r"\$TUSK_SECRET_KEY has 5 characters; use at least 32"):
        configured_secret(None, {SECRET_ENV: "short"})


@pytest.mark.parametrize(("second_secret", "accepted"), [(SECRET, True), (SECRET[::-1], False)])
def test_a_form_shown_by_one_api_server_is_accepted_by_another_with_the_same_secret(
    tmp_path: Path, second_secret: str, accepted: bool
) -> None:
    async def scenario() -> None:
        async with InProcessCluster(tmp_path, store="memory", clock=FakeClock()) as cluster:
            await launch(cluster)
            first = dataclasses.replace(CHEAP, form_key=form_key(SECRET))
            second = dataclasses.replace(CHEAP, form_key=form_key(second_secret))
            async with (
                TestClient(TestServer(build_app(cluster, first), host="127.0.0.1")) as shown_by,
                TestClient(TestServer(build_app(cluster, second), host="127.0.0.1")) as posted_to,
            ):
                app = await client_app(shown_by)
                await user(shown_by, "carol")
                _, challenge = pkce_pair()
                fields = await open_form(shown_by, authorize_query(app, challenge))
                nonce = shown_by.session.cookie_jar.filter_cookies(shown_by.make_url("/oauth/authorize"))[CSRF_COOKIE]
                posted_to.session.cookie_jar.update_cookies({CSRF_COOKIE: nonce.value})  # the browser sends it back
                answer = await submit(posted_to, fields, "carol", "carol-pass")
                if accepted:
                    assert answer.status == 302 and "code=" in answer.headers["Location"], await answer.text()
                else:
                    assert answer.status == 403 and "Location" not in answer.headers

    asyncio.run(scenario())
