"""Standard logging: records to stdout, ERROR and above also to stderr, third-party noise at WARNING.

Message text is personal data: it is never logged at INFO (log ids and counts instead).
"""

from __future__ import annotations

import logging
import sys

NOISY_LOGGERS = (
    "alembic", "sqlalchemy", "uvicorn.access", "httpx", "httpcore", "LiteLLM", "litellm",
    "celery", "kombu", "watchdog", "asyncio", "multipart", "faiss", "urllib3",
)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_chatstats", False):
            root.removeHandler(handler)
    formatter = logging.Formatter(FORMAT)
    out = logging.StreamHandler(sys.stdout)
    out.addFilter(_BelowError())
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.ERROR)
    for handler in (out, err):
        handler.setFormatter(formatter)
        handler._chatstats = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
