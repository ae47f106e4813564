"""Core's refusals say what kind of refusal they are, so the API need not read messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from tests.modules.core.content_support import vote
from tests.modules.core.interaction_support import act
from tests.modules.core.list_support import block
from tests.modules.core.support import launched, post, register
from topology.context import RecordRejected


async def kind_of(refused: Awaitable[Any]) -> str:
    """The kind of the rejection `refused` ends in."""
    with pytest.raises(RecordRejected) as caught:
        await refused
    return caught.value.kind


def test_a_rejection_kind_is_one_of_the_known_ones() -> None:
    assert RecordRejected("bad").kind == "invalid"
    assert RecordRejected("gone", "not_found").kind == "not_found"
    with pytest.raises(ValueError, match="rejection kind"):
        RecordRejected("what", "nope")  # type: ignore[arg-type]


def test_core_rejections_carry_their_kind(tmp_path: Path, store_kind: str) -> None:
    async def scenario() -> None:
        async with launched(tmp_path, store_kind) as cluster:
            alice, bob = await register(cluster, "alice"), await register(cluster, "bob")
            public = await post(cluster, alice, "hi")
            private = await post(cluster, alice, "friends only", visibility="private")
            direct = await post(cluster, alice, "psst", visibility="direct", mentions=[bob])
            poll = await post(cluster, alice, "pick", poll={"options": ["a", "b"], "expires_in": 600})
            await vote(cluster, bob, poll, [0])
            assert await kind_of(act(cluster, "favourite", bob, public + 4_096)) == "not_found"
            assert await kind_of(act(cluster, "favourite", bob, private)) == "not_found"  # not revealed
            assert await kind_of(act(cluster, "reblog", bob, direct)) == "forbidden"
            assert await kind_of(act(cluster, "pin", bob, public)) == "invalid"  # someone else's
            assert await kind_of(post(cluster, bob, "re", in_reply_to=public + 4_096)) == "not_found"
            assert await kind_of(vote(cluster, bob, poll, [1])) == "duplicate"
            assert await kind_of(register(cluster, "ALICE", uuid="another")) == "duplicate"
            assert await kind_of(post(cluster, bob, "x", visibility="secret")) == "invalid"
            for i in range(5):
                await act(cluster, "pin", alice, await post(cluster, alice, f"pin {i}"))
            assert await kind_of(act(cluster, "pin", alice, public)) == "limit"
            await block(cluster, bob, alice)  # bob blocks the author: he sees her status, may not boost it
            assert await kind_of(act(cluster, "reblog", bob, public)) == "forbidden"

    asyncio.run(scenario())
