"""Context packs (`app/eve/context-packs/<id>.pack.yaml`) loaded into strict models.

A pack says what a prompt is given: slices, each filled by one of the six retrievers within an
estimated number of tokens, a total token budget, and the ordered strategies that trim the slices when
what was retrieved does not fit. The retrievers and the trimming itself live with Eve's services; this
module only loads and checks the files.

    pack = load_pack("eve-chat")
    [s.retriever for s in pack.slices]   # ["user_name", "chat_text", ...]
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from backend.errors import BackendError, NotFound
from backend.prompts.prompt import eve_dir

PACK_SUFFIX = ".pack.yaml"
_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

Retriever = Literal["conversations", "analyses", "artifacts", "raw_conversation", "chat_text", "user_name"]
RETRIEVERS: tuple[str, ...] = get_args(Retriever)


class ContextPackNotFound(NotFound):
    code = "context_pack_not_found"


class ContextPackInvalid(BackendError):
    """A pack file that does not load: the message names the file and what to fix."""

    code = "context_pack_invalid"


def packs_dir() -> Path:
    return eve_dir() / "context-packs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Slice(_Strict):
    name: str = Field(pattern=_NAME_PATTERN)
    retriever: Retriever
    params: dict[str, Any] = Field(default_factory=dict)
    token_estimate: int = Field(ge=0)
    required: bool = False


class ShrinkTimeWindowParams(_Strict):
    """Multiply the time window (`params.days`) of these slices by `factor`, not below `min_days`."""

    slices: list[str] = Field(min_length=1)
    factor: float = Field(gt=0.0, lt=1.0)
    min_days: float = Field(ge=0.0)


class DropFacetsParams(_Strict):
    """Drop whole optional slices, first listed first, until the pack fits."""

    order: list[str] = Field(min_length=1)


class LimitArtifactsParams(_Strict):
    """Keep at most `max_items` items in each `artifacts` slice."""

    max_items: int = Field(ge=0)


class ShrinkTimeWindow(_Strict):
    strategy: Literal["shrink_time_window"]
    params: ShrinkTimeWindowParams


class DropFacets(_Strict):
    strategy: Literal["drop_facets"]
    params: DropFacetsParams


class LimitArtifacts(_Strict):
    strategy: Literal["limit_artifacts"]
    params: LimitArtifactsParams


TrimStrategy = Annotated[ShrinkTimeWindow | DropFacets | LimitArtifacts, Field(discriminator="strategy")]


class ContextPack(_Strict):
    id: str = Field(pattern=_NAME_PATTERN)
    version: str = Field(min_length=1, description="Quoted in YAML (\"1\"); bump it when the pack changes.")
    description: str = Field(min_length=1)
    token_budget: int = Field(gt=0)
    slices: list[Slice] = Field(min_length=1)
    trimming: list[TrimStrategy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ContextPack:
        names = [s.name for s in self.slices]
        if len(set(names)) != len(names):
            raise ValueError(f"slice names must be unique: {names}")
        by_name = {s.name: s for s in self.slices}
        required_tokens = sum(s.token_estimate for s in self.slices if s.required)
        if required_tokens > self.token_budget:
            raise ValueError(f"required slices need {required_tokens} tokens, over token_budget {self.token_budget}")
        for step in self.trimming:
            if isinstance(step, ShrinkTimeWindow):
                for name in step.params.slices:
                    if name not in by_name:
                        raise ValueError(f"shrink_time_window names slice {name!r}, which the pack lacks")
                    if "days" not in by_name[name].params:
                        raise ValueError(f"shrink_time_window needs slice {name!r} to have params.days")
            elif isinstance(step, DropFacets):
                for name in step.params.order:
                    if name not in by_name:
                        raise ValueError(f"drop_facets names slice {name!r}, which the pack lacks")
                    if by_name[name].required:
                        raise ValueError(f"drop_facets cannot drop required slice {name!r}")
            elif not any(s.retriever == "artifacts" for s in self.slices):
                raise ValueError("limit_artifacts needs a slice with the artifacts retriever")
        return self

    def get_slice(self, name: str) -> Slice:
        for item in self.slices:
            if item.name == name:
                return item
        raise KeyError(name)


def load_pack(pack_id: str, *, directory: Path | None = None) -> ContextPack:
    folder = directory or packs_dir()
    path = folder / f"{pack_id}{PACK_SUFFIX}"
    if not re.match(_NAME_PATTERN, pack_id) or not path.is_file():
        raise ContextPackNotFound(f"No context pack {pack_id!r}: expected a file {path}", pack=pack_id)
    return parse_pack_file(path)


def list_packs(*, directory: Path | None = None) -> list[ContextPack]:
    folder = directory or packs_dir()
    return [parse_pack_file(path) for path in sorted(folder.glob(f"*{PACK_SUFFIX}"))]


def parse_pack_file(path: Path) -> ContextPack:
    stat = path.stat()
    return _parse_cached(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _parse_cached(path: Path, _mtime_ns: int, _size: int) -> ContextPack:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContextPackInvalid(f"{path}: not valid YAML: {exc}", path=str(path)) from exc
    if not isinstance(data, dict):
        raise ContextPackInvalid(f"{path}: a context pack is a YAML mapping", path=str(path))
    try:
        pack = ContextPack.model_validate(data)
    except ValidationError as exc:
        raise ContextPackInvalid(f"{path}: invalid context pack:\n{exc}", path=str(path)) from exc
    expected_id = path.name.removesuffix(PACK_SUFFIX)
    if pack.id != expected_id:
        raise ContextPackInvalid(f"{path}: id {pack.id!r} must match the file name ({expected_id!r})")
    return pack
