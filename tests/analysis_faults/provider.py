"""A responder for the fake provider that satisfies the prompts' schemas (`example_for` follows their $ref to
$defs), or echoes when a request carries no schema."""

from __future__ import annotations

from typing import Any

from tests.fakes.openai_server import default_responder, example_for, schema_in


def schema_responder(body: dict[str, Any]) -> str | dict[str, Any]:
    schema = schema_in(body)
    return example_for(schema) if schema is not None else default_responder(body)
