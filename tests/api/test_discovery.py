"""Instance and discovery documents: every shape, validated against the OpenAPI description where it has one."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from api.app import build_app
from api.scopes import SCOPES
from cluster.inprocess import InProcessCluster
from cluster.serve import launch
from cluster.testing import FakeClock
from modules.auth.stats import week_of
from tests.api.oauth_support import user
from tests.api.openapi import assert_valid, load_schemas
from tests.api.support import CHEAP

CONFIG = replace(CHEAP, base_url="https://social.example", rules=("Be kind", "No spam"))
NODEINFO_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"


async def get_json(client: TestClient[Any, Any], path: str, status: int = 200) -> Any:
    response = await client.get(path)
    assert response.status == status, (path, await response.text())
    return await response.json(content_type=None)


def test_instance_documents(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        clock = FakeClock()
        async with InProcessCluster(tmp_path, store="memory", clock=clock) as cluster:
            await launch(cluster)
            async with TestClient(TestServer(build_app(cluster, CONFIG), host="127.0.0.1")) as client:
                for name in ("ann", "ben"):
                    await user(client, name)
                v1, v2 = await get_json(client, "/api/v1/instance"), await get_json(client, "/api/v2/instance")
                assert_valid(schemas, "V1Instance", v1)
                assert_valid(schemas, "Instance", v2)
                assert v1["version"] == v2["version"] == "4.3.0" and v1["stats"]["user_count"] == 2
                assert v1["urls"]["streaming_api"] == v2["configuration"]["urls"]["streaming"] == "wss://social.example"
                assert v2["domain"] == "social.example" and v2["registrations"]["enabled"] is True
                assert [r["text"] for r in v2["rules"]] == ["Be kind", "No spam"]
                rules = await get_json(client, "/api/v1/instance/rules")
                for rule in rules:
                    assert_valid(schemas, "Rule", rule)
                assert rules == v1["rules"]
                assert_valid(
                    schemas, "ExtendedDescription", await get_json(client, "/api/v1/instance/extended_description")
                )
                assert await get_json(client, "/api/v1/instance/peers") == []
                assert {"code": "en", "name": "English"} in await get_json(client, "/api/v1/instance/languages")
                assert await get_json(client, "/api/v1/instance/translation_languages") == {}
                assert await get_json(client, "/api/v1/custom_emojis") == []
                weeks = await get_json(client, "/api/v1/instance/activity")
                assert len(weeks) == 12 and weeks[0]["week"] == str(week_of(clock.now_ms()))
                assert weeks[0]["registrations"] == "2" and all(isinstance(v, str) for w in weeks for v in w.values())

    asyncio.run(scenario())


def test_discovery_documents(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with InProcessCluster(tmp_path, store="memory", clock=FakeClock()) as cluster:
            await launch(cluster)
            async with TestClient(TestServer(build_app(cluster, CONFIG), host="127.0.0.1")) as client:
                await user(client, "cleo")
                links = await get_json(client, "/.well-known/nodeinfo")
                assert links["links"][0] == {"rel": NODEINFO_20, "href": "https://social.example/nodeinfo/2.0"}
                for version in ("2.0", "2.1"):
                    response = await client.get(f"/nodeinfo/{version}")
                    assert (
                        f'profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'
                        in response.headers["Content-Type"]
                    )
                    info = await response.json(content_type=None)
                    assert info["version"] == version and info["software"]["name"] == "tusk"
                    assert info["usage"]["users"]["total"] == 1 and info["openRegistrations"] is True
                    assert info["protocols"] == ["activitypub"] and info["usage"]["localPosts"] == 0
                metadata = await get_json(client, "/.well-known/oauth-authorization-server")
                assert_valid(schemas, "DiscoverOauthServerConfigurationResponse", metadata)
                assert metadata["issuer"] == "https://social.example/" and metadata[
                    "code_challenge_methods_supported"
                ] == ["S256"]
                assert (
                    metadata["scopes_supported"] == list(SCOPES)
                    and "authorization_code" in metadata["grant_types_supported"]
                )
                host_meta = await client.get("/.well-known/host-meta")
                assert host_meta.content_type == "application/xrd+xml"
                assert (
                    'template="https://social.example/.well-known/webfinger?resource={uri}"' in await host_meta.text()
                )

    asyncio.run(scenario())


def test_webfinger(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with InProcessCluster(tmp_path, store="memory", clock=FakeClock()) as cluster:
            await launch(cluster)
            async with TestClient(TestServer(build_app(cluster, CONFIG), host="127.0.0.1")) as client:
                await user(client, "dana")
                for resource in (
                    "acct:dana@social.example",
                    "acct:@dana@SOCIAL.example",
                    "https://social.example/@dana",
                ):
                    response = await client.get("/.well-known/webfinger", params={"resource": resource})
                    assert response.status == 200 and response.content_type == "application/jrd+json"
                    jrd = await response.json(content_type=None)
                    assert jrd["subject"] == "acct:dana@social.example"
                    selves = [link["href"] for link in jrd["links"] if link["rel"] == "self"]
                    assert selves == ["https://social.example/users/dana"]
                for resource in (
                    "acct:nobody@social.example",
                    "acct:dana@elsewhere.example",
                    "https://other.example/@dana",
                ):
                    await get_json(client, f"/.well-known/webfinger?resource={resource}", status=404)
                await get_json(client, "/.well-known/webfinger", status=400)

    asyncio.run(scenario())


def test_health_answers_ok_without_a_token(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with InProcessCluster(tmp_path, store="memory", clock=FakeClock()) as cluster:
            await launch(cluster)
            async with TestClient(TestServer(build_app(cluster, CONFIG), host="127.0.0.1")) as client:
                response = await client.get("/health")
                assert response.status == 200
                assert (await response.text(), response.content_type) == ("OK", "text/plain")

    asyncio.run(scenario())
