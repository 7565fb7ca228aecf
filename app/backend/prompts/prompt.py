"""Prompt files (`app/eve/prompts/<id>.prompt.md`) loaded into strict models and rendered to chat messages.

A prompt file is YAML front matter between `---` lines, then a Markdown body in two sections, each
opened by a line of its own: `# system` and `# user`. The body is a Jinja2 template (StrictUndefined):
every `{{ name }}` it uses must be listed under `variables`, and every listed name must be used.
The `json` filter writes a value as compact JSON (`{{ conversation | json }}`), the form in which
conversations reach the model and the offline analyzer.

    prompt = load_prompt("convo-all-v1")
    messages = prompt.render(conversation={...})   # [{"role": "system", ...}, {"role": "user", ...}]
    prompt.result_schema                            # the JSON Schema a reply must satisfy
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import yaml
from jinja2 import meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backend.errors import BackendError, NotFound

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

PROMPT_SUFFIX = ".prompt.md"
SECTIONS = ("system", "user")
_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
_SECTION_LINE = re.compile(r"^# (\w+)[ \t]*$", re.MULTILINE)


class PromptNotFound(NotFound):
    code = "prompt_not_found"


class PromptInvalid(BackendError):
    """A prompt file that does not load: the message names the file and what to fix."""

    code = "prompt_invalid"


class PromptRenderError(BackendError):
    """Variables that do not match the prompt's `variables` (missing or unknown)."""

    code = "prompt_render_error"


def eve_dir() -> Path:
    """app/eve/ in the repository (the package is installed in editable/source layout)."""
    return Path(__file__).resolve().parents[3] / "app" / "eve"


def prompts_dir() -> Path:
    return eve_dir() / "prompts"


class PromptHeader(BaseModel):
    """The front matter, exactly: an unknown key is an error, not a silently ignored typo."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, protected_namespaces=())

    id: str = Field(pattern=_ID_PATTERN)
    version: str = Field(min_length=1, description="Quoted in YAML (\"1\"); bump it when the text changes.")
    description: str = Field(min_length=1)
    result_type: Literal["json", "text"]
    result_schema: dict[str, Any] = Field(alias="schema")
    temperature: float = Field(ge=0.0, le=2.0)
    variables: list[str]

    @field_validator("result_schema")
    @classmethod
    def _valid_json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator  # noqa: PLC0415 - jsonschema: only where prompts load
        from jsonschema.exceptions import SchemaError  # noqa: PLC0415

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ValueError(f"schema is not a valid JSON Schema (2020-12): {exc.message}") from exc
        if schema.get("type") != "object":
            raise ValueError('schema must describe an object ("type": "object")')
        return schema

    @field_validator("variables")
    @classmethod
    def _unique_identifiers(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name.isidentifier():
                raise ValueError(f"variable {name!r} is not an identifier")
        if len(set(names)) != len(names):
            raise ValueError("variables are listed more than once")
        return names


class Prompt(PromptHeader):
    """A loaded prompt: its header, its two body sections and where it came from."""

    system_template: str
    user_template: str
    path: Path
    sha256: str = Field(description="Digest of the file's bytes, for audit logs and caches.")

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """The chat messages (system, then user) with the variables filled in."""
        missing = sorted(set(self.variables) - set(variables))
        unknown = sorted(set(variables) - set(self.variables))
        if missing or unknown:
            raise PromptRenderError(
                f"prompt {self.id} takes variables {self.variables}; missing {missing}, unknown {unknown}",
                prompt=self.id, missing=missing, unknown=unknown,
            )
        try:
            return [
                {"role": "system", "content": _template(self.system_template).render(**variables).strip()},
                {"role": "user", "content": _template(self.user_template).render(**variables).strip()},
            ]
        except jinja2.TemplateError as exc:
            raise PromptRenderError(f"prompt {self.id} failed to render: {exc}", prompt=self.id) from exc

    def validator(self) -> Draft202012Validator:
        """A validator of replies against the prompt's schema."""
        from jsonschema import Draft202012Validator  # noqa: PLC0415 - jsonschema: only where prompts load

        return Draft202012Validator(self.result_schema)


def load_prompt(prompt_id: str, *, directory: Path | None = None) -> Prompt:
    folder = directory or prompts_dir()
    path = folder / f"{prompt_id}{PROMPT_SUFFIX}"
    if not re.match(_ID_PATTERN, prompt_id) or not path.is_file():
        raise PromptNotFound(f"No prompt {prompt_id!r}: expected a file {path}", prompt=prompt_id)
    return parse_prompt_file(path)


def list_prompts(*, directory: Path | None = None) -> list[Prompt]:
    folder = directory or prompts_dir()
    return [parse_prompt_file(path) for path in sorted(folder.glob(f"*{PROMPT_SUFFIX}"))]


def parse_prompt_file(path: Path) -> Prompt:
    stat = path.stat()
    return _parse_cached(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=128)
def _parse_cached(path: Path, _mtime_ns: int, _size: int) -> Prompt:
    raw = path.read_bytes()
    front, body = _split_front_matter(path, raw.decode("utf-8"))
    if not isinstance(front, dict):
        raise PromptInvalid(f"{path}: the front matter must be a YAML mapping")
    try:
        header = PromptHeader.model_validate(front)
    except ValidationError as exc:
        raise PromptInvalid(f"{path}: invalid front matter:\n{exc}", path=str(path)) from exc
    expected_id = path.name.removesuffix(PROMPT_SUFFIX)
    if header.id != expected_id:
        raise PromptInvalid(f"{path}: id {header.id!r} must match the file name ({expected_id!r})")
    sections = _split_sections(path, body)
    _check_variables(path, header, sections)
    return Prompt(
        **header.model_dump(by_alias=True),
        system_template=sections["system"], user_template=sections["user"],
        path=path, sha256=hashlib.sha256(raw).hexdigest(),
    )


def _split_front_matter(path: Path, text: str) -> tuple[Any, str]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise PromptInvalid(f"{path}: a prompt file starts with YAML front matter between '---' lines")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            try:
                front = yaml.safe_load("".join(lines[1:index]))
            except yaml.YAMLError as exc:
                raise PromptInvalid(f"{path}: the front matter is not valid YAML: {exc}") from exc
            return front, "".join(lines[index + 1:])
    raise PromptInvalid(f"{path}: the front matter is not closed by a '---' line")


def _split_sections(path: Path, body: str) -> dict[str, str]:
    headings = list(_SECTION_LINE.finditer(body))
    names = [match.group(1) for match in headings]
    if names != list(SECTIONS):
        raise PromptInvalid(
            f"{path}: the body must have exactly the sections '# system' then '# user' (found {names}); "
            "use '##' or deeper for headings inside a section"
        )
    if body[:headings[0].start()].strip():
        raise PromptInvalid(f"{path}: text before '# system' belongs to no message")
    sections = {}
    for match, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(body)
        sections[match.group(1)] = body[match.end():end].strip("\n") + "\n"
    return sections


def _check_variables(path: Path, header: PromptHeader, sections: dict[str, str]) -> None:
    used: set[str] = set()
    for name, source in sections.items():
        try:
            used |= meta.find_undeclared_variables(_ENV.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise PromptInvalid(f"{path}: '# {name}' is not a valid template: {exc}") from exc
    undeclared = sorted(used - set(header.variables))
    unused = sorted(set(header.variables) - used)
    if undeclared:
        raise PromptInvalid(f"{path}: the body uses variables not listed under 'variables': {undeclared}")
    if unused:
        raise PromptInvalid(f"{path}: 'variables' lists names the body never uses: {unused}")


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
    trim_blocks=True, lstrip_blocks=True,
)
_ENV.filters["json"] = _to_json


@lru_cache(maxsize=64)
def _template(source: str) -> jinja2.Template:
    return _ENV.from_string(source)
