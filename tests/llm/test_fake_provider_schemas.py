"""The fake provider's replies satisfy the schema a request carries, $ref included (local refs followed,
recursive ones ended), so tests that use it see valid JSON for the prompts' real schemas."""

from __future__ import annotations

import jsonschema
import pytest

from backend.llm import complete_json
from backend.prompts import load_prompt
from tests.fakes.openai_server import example_for, resolve_ref
from tests.llm.conftest import call_rows

PERSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "entity": {
            "type": "object",
            "properties": {"kind": {"enum": ["person", "place"]}, "weight": {"$ref": "#/$defs/score"},
                           "count": {"type": "integer", "minimum": 2}},
            "required": ["kind", "weight", "count"],
            "additionalProperties": False,
        },
        "alias": {"$ref": "#/$defs/entity"},  # a ref to a ref
        "named": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    },
    "definitions": {"due": {"type": ["string", "null"], "minLength": 12}},
    "properties": {
        "entities": {"type": "array", "items": {"$ref": "#/$defs/alias"}, "minItems": 2},
        "due": {"$ref": "#/definitions/due"},
        "first": {"$ref": "#/properties/entities/items"},  # any JSON pointer into the schema
        "both": {"allOf": [{"$ref": "#/$defs/named"}, {"properties": {"note": {"type": "string"}},
                                                          "required": ["note"]}]},
    },
    "required": ["entities", "due", "first", "both"],
    "additionalProperties": False,
}

TREE_SCHEMA = {  # recursive through the root: a node's children are nodes
    "type": "object",
    "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    "required": ["label", "children"],
}

LIST_SCHEMA = {  # recursive through $defs, ended by a null branch
    "$defs": {"cell": {"type": "object", "properties": {
        "value": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/cell"}, {"type": "null"}]}},
        "required": ["value", "next"]}},
    "$ref": "#/$defs/cell",
}


def _valid(schema, instance) -> None:
    jsonschema.validators.validator_for(schema)(schema).validate(instance)


def test_refs_to_defs_definitions_and_pointers_are_resolved_into_a_valid_example():
    example = example_for(PERSON_SCHEMA)

    _valid(PERSON_SCHEMA, example)
    assert example["entities"] == [{"kind": "person", "weight": 0.0, "count": 2}] * 2
    assert example["first"] == example["entities"][0]
    assert example["due"] == "example duex"  # the string branch, padded to minLength
    assert example["both"] == {"name": "example name", "note": "example note"}


def test_recursive_refs_end_with_the_smallest_instance():
    tree = example_for(TREE_SCHEMA)
    _valid(TREE_SCHEMA, tree)
    assert tree == {"label": "example label", "children": [{"label": "example label", "children": []}]}

    cells = example_for(LIST_SCHEMA)
    _valid(LIST_SCHEMA, cells)
    assert cells == {"value": 1, "next": {"value": 1, "next": None}}


def test_a_recursion_no_finite_instance_can_end_is_refused():
    endless = {"type": "object", "properties": {"again": {"$ref": "#"}}, "required": ["again"]}
    with pytest.raises(ValueError, match="recurses"):
        example_for(endless)
    with pytest.raises(ValueError, match="points at nothing"):
        resolve_ref(PERSON_SCHEMA, "#/$defs/missing")


@pytest.mark.parametrize("prompt_id", ["convo-all-v1", "commitment-extraction-v1", "commitment-reconciliation-v1"])
def test_every_analysis_prompt_schema_gets_a_valid_example(prompt_id):
    schema = load_prompt(prompt_id).result_schema
    _valid(schema, example_for(schema))


def test_the_gateway_accepts_the_fake_reply_to_a_schema_with_refs(json_call, migrated_engine):
    result = complete_json(**{**json_call, "schema": PERSON_SCHEMA})

    _valid(PERSON_SCHEMA, result.data)
    assert result.data == example_for(PERSON_SCHEMA)
    assert [row["status"] for row in call_rows(migrated_engine)] == ["ok"]  # valid at once: no repair round trip
