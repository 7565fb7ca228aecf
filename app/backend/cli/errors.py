"""The one place that turns domain errors into CLI messages and exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from backend.errors import BackendError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BackendError as exc:
            print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
            raise typer.Exit(code=2) from exc

    return wrapper  # type: ignore[return-value]
