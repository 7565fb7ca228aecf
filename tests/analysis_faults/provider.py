"""A responder for the fake provider that satisfies the prompts' schemas ($ref to $defs resolved first:
tests/fakes/openai_server.example_for does not follow $ref and answers strings where numbers are due)."""

from __future__ import annotations

from typing import Any

from tests.fakes.openai_server import default_responder, example_for, schema_in


def inline_refs(schema: Any, root: dict[str, Any] | None = None) -> Any:
    """The schema with every local `{"$ref": "#/$defs/x"}` replaced by its definition."""
    root = root if root is not None else schema
    if isinstance(schema, list):
        return [inline_refs(item, root) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        return inline_refs(target, root)
    return {key: inline_refs(value, root) for key, value in schema.items() if key != "$defs"}


def schema_responder(body: dict[str, Any]) -> str | dict[str, Any]:
    schema = schema_in(body)
    return example_for(inline_refs(schema)) if schema is not None else default_responder(body)
