"""The generated list of implemented operations: matching rules, and the committed file is current."""

from __future__ import annotations

import pytest

from api.operations import COMMAND, DOC, SPEC, Operation, generate, our_operations, render, spec_operations

TINY_SPEC = {
    "paths": {
        "/api/v1/accounts/{account_id}/follow": {"post": {"operationId": "follow", "tags": ["accounts"]}},
        "/api/v1/lists": {"get": {"operationId": "getLists", "tags": ["lists"]}, "parameters": []},
    }
}


def test_matching_ignores_parameter_names_and_trailing_slashes() -> None:
    ops = spec_operations(TINY_SPEC)
    assert [(op.method, op.path, op.tag) for op in ops] == [
        ("POST", "/api/v1/accounts/{account_id}/follow", "accounts"),
        ("GET", "/api/v1/lists", "lists"),
    ]
    ours = [Operation("/api/v1/accounts/{id}/follow/", "POST"), Operation("/api/v1/custom", "GET")]
    text = render(ops, ours, "tiny.json")
    assert "**1 of 2** operations of the spec are served (50%)." in text
    assert "| ✓ | POST | `/api/v1/accounts/{account_id}/follow` | follow |" in text
    assert "| ✗ | GET | `/api/v1/lists` | getLists |" in text
    assert "## Routes the spec lacks (1)" in text and "| GET | `/api/v1/custom` |" in text
    assert "| accounts | 1 | 1 |" in text and "| lists | 0 | 1 |" in text


def test_the_application_routes_are_listed_once_per_method_and_template() -> None:
    ours = our_operations()
    assert Operation("/api/v1/reports", "POST") in ours and Operation("/api/v1/accounts/{id}", "GET") in ours
    assert len({op.shape for op in ours}) == len(ours)  # the trailing-slash twins are one operation
    assert all(op.method not in ("HEAD", "OPTIONS") for op in ours)


def test_the_committed_list_is_current() -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is absent (the shared conformance files are not on this machine)")
    assert DOC.exists() and DOC.read_text() == generate(), f"{DOC} is stale: run `{COMMAND}` and commit it"
