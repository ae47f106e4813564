"""Entities checked against the Mastodon OpenAPI description, recursively: required keys, types, enums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

OPENAPI = Path("/work/shared/conformance/mastodon-openapi.json")
TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def load_schemas() -> dict[str, Any]:
    """Return the spec's component schemas, skipping the test where the shared conformance files are absent."""
    if not OPENAPI.exists():
        pytest.skip(f"{OPENAPI} is absent (the shared conformance files are not on this machine)")
    schemas: dict[str, Any] = json.loads(OPENAPI.read_text())["components"]["schemas"]
    return schemas


def assert_valid(schemas: dict[str, Any], name: str, value: object) -> None:
    """Fail with every violation of schema `name` by `value`."""
    problems = violations(schemas, schemas[name], value, name)
    assert not problems, "\n".join(problems)


def violations(schemas: dict[str, Any], schema: dict[str, Any], value: object, path: str) -> list[str]:
    """Return where `value` breaks `schema` (formats are not checked)."""
    if "oneOf" in schema or "anyOf" in schema:
        options = schema.get("oneOf") or schema["anyOf"]
        results = [violations(schemas, option, value, path) for option in options]
        return [] if any(not r for r in results) else results[0]
    problems = _type_problems(schema, value, path)
    if "$ref" in schema:
        problems += violations(schemas, schemas[schema["$ref"].rsplit("/", 1)[1]], value, path)
    if problems or value is None:
        return problems
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path} = {value!r} is not one of {schema['enum']}"]
    if isinstance(value, dict):
        return _object_problems(schemas, schema, value, path)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [p for n, item in enumerate(value) for p in violations(schemas, schema["items"], item, f"{path}[{n}]")]
    return []


def _type_problems(schema: dict[str, Any], value: object, path: str) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    allowed = set(kind) if isinstance(kind, list) else {kind}
    actual = "null" if value is None else TYPES[type(value)]
    if actual in allowed or (actual == "integer" and "number" in allowed):
        return []
    return [f"{path} = {value!r}: expected {sorted(allowed)}"]


def _object_problems(schemas: dict[str, Any], schema: dict[str, Any], value: dict[str, Any], path: str) -> list[str]:
    problems = [f"{path} lacks required {key!r}" for key in schema.get("required", []) if key not in value]
    for key, spec in schema.get("properties", {}).items():
        if key in value:
            problems += violations(schemas, spec, value[key], f"{path}.{key}")
    return problems
