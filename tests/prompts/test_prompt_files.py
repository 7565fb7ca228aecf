"""Every prompt and context pack under app/eve/ loads into its strict model and renders; bad files are refused."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from backend.prompts import (
    ContextPackInvalid,
    ContextPackNotFound,
    PromptInvalid,
    PromptNotFound,
    PromptRenderError,
    list_packs,
    list_prompts,
    load_pack,
    load_prompt,
)
from backend.prompts.pack import RETRIEVERS, packs_dir
from backend.prompts.prompt import prompts_dir

CONVERSATION = {
    "participants": [{"name": "Alex Kim", "is_me": True}, {"name": "Sam Rivera", "is_me": False}],
    "contacts": ["Jordan Lee"],
    "messages": [
        {"id": 1, "sender": "Sam Rivera", "is_from_me": False, "sent_at": "2024-05-03T18:02:00+02:00",
         "text": "I'll send you the photos tomorrow \"finally\" ```",
         "reactions": [{"type": "laugh", "sender": "Alex Kim"}]},
    ],
}
SAMPLES = {
    "conversation": CONVERSATION,
    "previous_commitments": [{"id": 7, "message_id": 1, "committed_by": "Sam Rivera", "committed_to": ["Alex Kim"],
                              "text": "send you the photos tomorrow", "due_at": "2024-05-04T23:59:00+02:00",
                              "status": "open"}],
    "user_name": "Alex Kim",
    "question": "When is the concert?",
    "history": [{"role": "user", "content": "Hi Eve"}, {"role": "assistant", "content": "Hello!"}],
    "sources": [{"id": "S1", "kind": "message", "title": None, "text": "The concert is on 12 May.",
                 "sender": "Sam Rivera", "sent_at": "2024-05-03T18:02:00+02:00", "conversation_id": 3,
                 "message_id": 1}],
    "today": "2024-05-10",
    "max_steps": 6,
}
REQUIRED_PROMPTS = {"convo-all-v1", "commitment-extraction-v1", "commitment-reconciliation-v1", "eve-answer-v1",
                    "eve-tools-v1"}
REQUIRED_PACKS = {"conversation-analysis", "commitments", "eve-chat"}


def _json_block(text: str) -> object:
    start = re.search(r"```json[ \t]*\n", text)
    assert start, text
    value, _ = json.JSONDecoder().raw_decode(text, start.end())
    return value


def test_the_required_prompts_and_packs_exist():
    assert {p.id for p in list_prompts()} >= REQUIRED_PROMPTS
    assert {p.id for p in list_packs()} >= REQUIRED_PACKS
    assert not list(prompts_dir().glob(".gitkeep")) and not list(packs_dir().glob(".gitkeep"))


@pytest.mark.parametrize("path", sorted(prompts_dir().glob("*.prompt.md")), ids=lambda p: p.name)
def test_every_prompt_loads_and_renders(path: Path):
    prompt = load_prompt(path.name.removesuffix(".prompt.md"))
    messages = prompt.render(**{name: SAMPLES[name] for name in prompt.variables})

    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"].startswith(f"[prompt: {prompt.id}]")
    assert "{{" not in messages[0]["content"] + messages[1]["content"]
    block = _json_block(messages[1]["content"])
    if "conversation" in prompt.variables:
        conversation = block["conversation"] if "previous_commitments" in prompt.variables else block
        assert conversation == CONVERSATION  # quotes and backticks in a message survive the round trip
    if "sources" in prompt.variables:
        assert block["sources"] == SAMPLES["sources"] and block["question"] == SAMPLES["question"]
    assert prompt.result_type == "json" and prompt.result_schema["type"] == "object"
    assert 0 <= prompt.temperature <= 2 and prompt.version and prompt.description
    assert len(prompt.sha256) == 64


@pytest.mark.parametrize("path", sorted(prompts_dir().glob("*.prompt.md")), ids=lambda p: p.name)
def test_the_exact_shape_shown_in_a_prompt_satisfies_its_schema(path: Path):
    prompt = load_prompt(path.name.removesuffix(".prompt.md"))
    section = prompt.system_template.split("## Exact shape", 1)[1].split("\n##", 1)[0]
    example = json.loads(section)
    errors = [e.message for e in prompt.validator().iter_errors(example)]
    assert errors == []


def test_render_refuses_missing_and_unknown_variables():
    prompt = load_prompt("convo-all-v1")
    with pytest.raises(PromptRenderError, match="missing \\['conversation'\\]"):
        prompt.render()
    with pytest.raises(PromptRenderError, match="unknown \\['extra'\\]"):
        prompt.render(conversation=CONVERSATION, extra=1)


def test_unknown_prompt_and_pack_are_not_found():
    with pytest.raises(PromptNotFound):
        load_prompt("no-such-prompt-v1")
    with pytest.raises(ContextPackNotFound):
        load_pack("../prompts/convo-all-v1")


@pytest.mark.parametrize("path", sorted(packs_dir().glob("*.pack.yaml")), ids=lambda p: p.name)
def test_every_pack_loads(path: Path):
    pack = load_pack(path.name.removesuffix(".pack.yaml"))
    assert pack.slices and all(s.retriever in RETRIEVERS for s in pack.slices)
    assert sum(s.token_estimate for s in pack.slices if s.required) <= pack.token_budget
    assert any(s.retriever == "user_name" for s in pack.slices)


def test_eve_chat_pack_trims_in_the_order_written():
    pack = load_pack("eve-chat")
    assert [t.strategy for t in pack.trimming] == ["limit_artifacts", "shrink_time_window", "drop_facets"]
    assert pack.get_slice("hits").required and not pack.get_slice("documents").required


# --- files that must be refused --------------------------------------------------------------------

GOOD_PROMPT = """\
---
id: sample-v1
version: "1"
description: A sample.
result_type: json
temperature: 0
variables: [conversation]
schema:
  type: object
  properties:
    summary: {type: string}
---
# system
[prompt: sample-v1]
Summarise.

# user
```json
{{ conversation | json }}
```
"""


def _write_prompt(folder: Path, text: str, name: str = "sample-v1") -> Path:
    path = folder / f"{name}.prompt.md"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_good_sample_prompt_loads(tmp_path: Path):
    _write_prompt(tmp_path, GOOD_PROMPT)
    prompt = load_prompt("sample-v1", directory=tmp_path)
    assert prompt.render(conversation={"a": 1})[1]["content"] == '```json\n{"a":1}\n```'


def _swap(old: str, new: str):
    return lambda text: text.replace(old, new)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(_swap("temperature: 0", "temperature: 0\nmax_tokens: 10"), "max_tokens", id="unknown-key"),
        pytest.param(_swap("Summarise.", "Summarise {{ language }}."),
                     "not listed under 'variables': \\['language'\\]", id="undeclared-variable"),
        pytest.param(_swap("variables: [conversation]", "variables: [conversation, tone]"),
                     "never uses: \\['tone'\\]", id="unused-variable"),
        pytest.param(_swap("summary: {type: string}", "summary: {type: 12}"), "not a valid JSON Schema",
                     id="invalid-schema"),
        pytest.param(_swap("  type: object\n", "  type: array\n"), "must describe an object", id="schema-not-object"),
        pytest.param(_swap("# user\n", ""), "exactly the sections", id="missing-section"),
        pytest.param(_swap("id: sample-v1", "id: other-v1"), "must match the file name", id="id-mismatch"),
        pytest.param(_swap('version: "1"', "version: 1"), "version", id="unquoted-version"),
        pytest.param(_swap("{{ conversation | json }}", "{{ conversation | json }"), "not a valid template",
                     id="template-syntax"),
    ],
)
def test_a_bad_prompt_is_refused(tmp_path: Path, change, message: str):
    _write_prompt(tmp_path, change(GOOD_PROMPT))
    with pytest.raises(PromptInvalid, match=message):
        load_prompt("sample-v1", directory=tmp_path)


def test_a_prompt_schema_validates_replies(tmp_path: Path):
    _write_prompt(tmp_path, GOOD_PROMPT.replace("  properties:\n", "  required: [summary]\n  properties:\n"))
    validator: Draft202012Validator = load_prompt("sample-v1", directory=tmp_path).validator()
    assert validator.is_valid({"summary": "ok"}) and not validator.is_valid({"summary": 3})


GOOD_PACK = """\
id: sample
version: "1"
description: A sample pack.
token_budget: 1000
slices:
  - name: user
    retriever: user_name
    params: {}
    token_estimate: 10
    required: true
  - name: docs
    retriever: artifacts
    params: {limit: 3, days: 30}
    token_estimate: 500
    required: false
trimming:
  - strategy: limit_artifacts
    params: {max_items: 1}
  - strategy: shrink_time_window
    params: {slices: [docs], factor: 0.5, min_days: 1}
  - strategy: drop_facets
    params: {order: [docs]}
"""


def test_a_good_sample_pack_loads(tmp_path: Path):
    (tmp_path / "sample.pack.yaml").write_text(GOOD_PACK, encoding="utf-8")
    pack = load_pack("sample", directory=tmp_path)
    assert [s.name for s in pack.slices] == ["user", "docs"] and pack.trimming[0].params.max_items == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("token_budget: 1000", "token_budget: 1000\nprompt: x"), "prompt"),
        (lambda t: t.replace("retriever: artifacts", "retriever: web"), "retriever"),
        (lambda t: t.replace("strategy: limit_artifacts", "strategy: summarise"), "strategy"),
        (lambda t: t.replace("order: [docs]", "order: [user]"), "cannot drop required slice 'user'"),
        (lambda t: t.replace("order: [docs]", "order: [nope]"), "lacks"),
        (lambda t: t.replace("params: {max_items: 1}", "params: {max_items: 1, per_slice: true}"), "per_slice"),
        (lambda t: t.replace("token_budget: 1000", "token_budget: 5"), "over token_budget"),
        (lambda t: t.replace("name: docs", "name: user"), "unique"),
    ],
    ids=["unknown-key", "unknown-retriever", "unknown-strategy", "drop-required", "drop-missing",
         "unknown-param", "over-budget", "duplicate-slice"],
)
def test_a_bad_pack_is_refused(tmp_path: Path, change, message: str):
    (tmp_path / "sample.pack.yaml").write_text(change(GOOD_PACK), encoding="utf-8")
    with pytest.raises(ContextPackInvalid, match=message):
        load_pack("sample", directory=tmp_path)
