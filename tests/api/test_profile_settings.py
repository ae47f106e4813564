"""Profile preferences and images end to end: stored by core, shown in source, Account and preferences."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from tests.api.media_samples import animated_gif, image_bytes
from tests.api.media_support import served_media
from tests.api.openapi import assert_valid, load_schemas
from tests.api.people import error, ok, sign_up

PATH = "/api/v1/accounts/update_credentials"


def test_preferences_are_stored_and_shown(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            alice, bob = await sign_up(client, "alice", "bob")
            defaults = await ok(await client.get("/api/v1/preferences", headers=alice.auth))
            assert defaults["posting:default:visibility"] == "public" and defaults["posting:default:language"] is None
            form = {"source[privacy]": "private", "source[sensitive]": "true", "source[language]": "hr"}
            updated = await ok(await client.patch(PATH, data={**form, "discoverable": "1"}, headers=alice.auth))
            assert_valid(schemas, "CredentialAccount", updated)
            source = updated["source"]
            assert (source["privacy"], source["sensitive"], source["language"]) == ("private", True, "hr")
            assert updated["discoverable"] is True and source["discoverable"] is True
            seen = await ok(await client.get(f"/api/v1/accounts/{alice.id}", headers=bob.auth))
            assert seen["discoverable"] is True and "source" not in seen
            prefs = await ok(await client.get("/api/v1/preferences", headers=alice.auth))
            assert prefs["posting:default:visibility"] == "private"
            assert (prefs["posting:default:sensitive"], prefs["posting:default:language"]) == (True, "hr")
            # JSON bodies too; only the given settings change.
            changed = await ok(
                await client.patch(
                    PATH, json={"discoverable": False, "source": {"sensitive": False}}, headers=alice.auth
                )
            )
            assert (changed["discoverable"], changed["source"]["sensitive"]) == (False, False)
            assert (changed["source"]["privacy"], changed["source"]["language"]) == ("private", "hr")
            cleared = await ok(await client.patch(PATH, data={"source[language]": ""}, headers=alice.auth))
            assert cleared["source"]["language"] is None
            for bad in ({"source[language]": "Croatian!"}, {"discoverable": "perhaps"}, {"source[sensitive]": "x"}):
                assert await error(await client.patch(PATH, data=bad, headers=alice.auth), 422)
            untouched = await ok(await client.get("/api/v1/accounts/verify_credentials", headers=bob.auth))
            assert untouched["source"]["privacy"] == "public" and untouched["discoverable"] is None

    asyncio.run(scenario())


def test_avatar_and_header_are_stored_as_images(tmp_path: Path) -> None:
    schemas = load_schemas()

    async def scenario() -> None:
        async with served_media(tmp_path) as (client, _):
            [alice] = await sign_up(client, "alice")
            form = aiohttp.FormData()
            form.add_field("display_name", "Alice")
            form.add_field("avatar", image_bytes("PNG", (120, 120)), filename="me.png", content_type="image/png")
            form.add_field("header", animated_gif(), filename="top.gif", content_type="image/gif")
            updated = await ok(await client.patch(PATH, data=form, headers=alice.auth))
            assert_valid(schemas, "CredentialAccount", updated)
            assert updated["display_name"] == "Alice"
            assert "/system/media/" in updated["avatar"] and updated["avatar_static"] == updated["avatar"]
            assert updated["header"].endswith(".gif") and updated["header_static"] != updated["header"]
            for url in (updated["avatar"], updated["header"], updated["header_static"]):
                served = await client.get(urlsplit(url).path)
                assert served.status == 200 and served.content_type.startswith("image/")
            me = await ok(await client.get(f"/api/v1/accounts/{alice.id}"))
            assert (me["avatar"], me["header"]) == (updated["avatar"], updated["header"])
            replaced = aiohttp.FormData()
            replaced.add_field("avatar", image_bytes("JPEG", (90, 90)), filename="new.jpg", content_type="image/jpeg")
            again = await ok(await client.patch(PATH, data=replaced, headers=alice.auth))
            assert again["avatar"] != updated["avatar"] and again["header"] == updated["header"]
            video = aiohttp.FormData()
            video.add_field("header", b"\x1aE\xdf\xa3" + b"\x00" * 64, filename="v.webm", content_type="video/webm")
            assert "image" in await error(await client.patch(PATH, data=video, headers=alice.auth), 422)

    asyncio.run(scenario())
