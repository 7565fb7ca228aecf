"""Errors of the tools: what a model or an MCP client is told, in words that say what to try next."""

from __future__ import annotations

from backend.errors import InvalidRequest, NotFound


class PersonNotFound(NotFound):
    code = "person_not_found"


class ToolNotFound(NotFound):
    code = "tool_not_found"


class ToolArgumentsInvalid(InvalidRequest):
    code = "tool_arguments_invalid"


class StatisticsUnavailable(NotFound):
    code = "statistics_unavailable"
