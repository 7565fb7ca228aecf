"""The tool catalogue: name, description, argument and result models, and the function; calling a tool by
name with JSON arguments (validated), its result made plain JSON under the privacy setting.

    from backend.tools.registry import call_tool, openai_tools
    call_tool(engine, "top_people", {"period": "this_year", "limit": 3})  # -> dict
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from backend.config import get_settings
from backend.db.session import session_scope
from backend.tools import repo, schemas
from backend.tools.exceptions import ToolArgumentsInvalid, ToolNotFound
from backend.tools.privacy import Privacy, apply_privacy


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    result: type[BaseModel]
    target: str  # "module:function", imported on first call (the statistics pull in the insights service)

    @property
    def function(self) -> Callable[[Engine, Any], BaseModel]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return,unused-ignore]

    def parameters(self) -> dict[str, Any]:
        """The arguments' JSON Schema, inlined (no $defs), as function-calling APIs want it."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema


_L, _S = "backend.tools.lookup", "backend.tools.stats"
TOOLS: dict[str, Tool] = {t.name: t for t in (
    Tool("search_messages", "Find messages by their words (optionally sent by one person, in one chat, between "
         "dates). Returns the messages with ids, senders and times.", schemas.SearchArgs, schemas.SearchResult,
         f"{_L}:search_messages"),
    Tool("top_people", "Rank the people the user exchanges the most one-to-one messages with in a period "
         "(30d, this_year, last_year, all, or since/until dates).", schemas.TopPeopleArgs, schemas.TopPeopleResult,
         f"{_S}:top_people"),
    Tool("message_stats", "How many messages the user exchanged with a person (or in a chat) in a period: sent, "
         "received, first and last message, and who starts the conversations.", schemas.MessageStatsArgs,
         schemas.MessageStatsResult, f"{_S}:message_stats"),
    Tool("find_person", "Look up contacts by name, nickname, phone number or email; gives their contact id and "
         "one-to-one chat id.", schemas.FindPersonArgs, schemas.FindPersonResult, f"{_L}:find_person"),
    Tool("list_conversations", "List the conversations (runs of messages) of a chat or of a person's one-to-one "
         "chat in a date range, newest first, with their summaries when analysed.", schemas.ListConversationsArgs,
         schemas.ListConversationsResult, f"{_L}:list_conversations"),
    Tool("get_conversation", "Read one conversation's messages by conversation id, oldest first.",
         schemas.GetConversationArgs, schemas.GetConversationResult, f"{_L}:get_conversation"),
    Tool("conversation_analysis", "The analysis of one conversation: summary, topics and promises.",
         schemas.ConversationAnalysisArgs, schemas.ConversationAnalysisResult, f"{_L}:conversation_analysis"),
    Tool("commitments", "Promises found in the user's conversations: made by the user (by=me), made to the user "
         "(by=them) or both, by status.", schemas.CommitmentsArgs, schemas.CommitmentsResult, f"{_L}:commitments"),
    Tool("year_review", "A year of messages in numbers: totals, top people, busiest day, longest conversation.",
         schemas.YearReviewArgs, schemas.YearReviewResult, f"{_S}:year_review"),
)}


def get_tool(name: str) -> Tool:
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolNotFound(f"There is no tool {name!r}; the tools are: {', '.join(TOOLS)}.", tool=name)
    return tool


def parse_args(tool: Tool, arguments: dict[str, Any] | str | None) -> BaseModel:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolArgumentsInvalid(f"The arguments of {tool.name} are not JSON: {exc.msg}.") from exc
    if not isinstance(arguments, dict):
        raise ToolArgumentsInvalid(f"The arguments of {tool.name} must be a JSON object.")
    try:
        return tool.args.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise ToolArgumentsInvalid(f"Invalid arguments for {tool.name}: {problems}.") from exc


def call_tool(engine: Engine, name: str, arguments: dict[str, Any] | str | None, *,
              privacy: Privacy | None = None) -> dict[str, Any]:
    """Run a tool; its result as JSON-ready data under the privacy setting (the configured one by default)."""
    tool = get_tool(name)
    result = tool.function(engine, parse_args(tool, arguments))
    mode = privacy or get_settings().tools_privacy
    people = None
    if mode == "redacted":
        with session_scope(engine) as conn:
            people = [(row["contact_id"], [n for n in (row["name"], row["first_name"], row["last_name"],
                                                       row["nickname"]) if n]) for row in repo.list_people(conn)]
    return apply_privacy(result.model_dump(mode="json"), mode, people)


def call_tool_model(engine: Engine, name: str, arguments: dict[str, Any] | str | None) -> BaseModel:
    """Run a tool and keep its typed result (the offline router writes sentences from it; no privacy applied:
    the answer goes to the user who owns the data)."""
    tool = get_tool(name)
    return tool.function(engine, parse_args(tool, arguments))


def openai_tools() -> list[dict[str, Any]]:
    """The catalogue in the OpenAI function-calling format LiteLLM takes."""
    return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters()}} for t in TOOLS.values()]
