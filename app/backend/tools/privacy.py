"""The privacy setting of tool results: `full` (as stored), `redacted` (names, phone numbers and emails
masked, in fields and in message text), `aggregate` (statistics only: no message text at all).

A person keeps one alias within a result ("Person 12", from the contact id, else a running number), so
that a model can still tell people apart.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Privacy = Literal["full", "redacted", "aggregate"]
PRIVACY_MODES: tuple[Privacy, ...] = ("full", "redacted", "aggregate")

TEXT_KEYS = frozenset({"text", "first_text", "summary", "quote", "message_text", "commitments", "topics"})
NAME_KEYS = frozenset({"name", "sender", "committed_by", "person"})
QUERY_KEYS = frozenset({"query"})
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
MASK = "[redacted]"


def apply_privacy(data: dict[str, Any], privacy: Privacy,
                  people: list[tuple[int, list[str]]] | None = None) -> dict[str, Any]:
    """`data` as the setting allows; `people` (contact id, its names) lets `redacted` mask names the result
    mentions only in message text."""
    if privacy == "full":
        return data
    if privacy == "aggregate":
        return _strip_text(data)  # type: ignore[no-any-return,unused-ignore]
    aliases = _Aliases()
    aliases.collect(data)
    for contact_id, names in people or []:
        for name in names:
            aliases.alias(name, contact_id)
    return aliases.redact(data)  # type: ignore[no-any-return,unused-ignore]


def _strip_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (None if k in TEXT_KEYS and isinstance(v, str) else [] if k in TEXT_KEYS and isinstance(v, list)
                    else _strip_text(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_text(v) for v in value]
    return value


def mask_identifiers(text: str) -> str:
    return _PHONE.sub(MASK, _EMAIL.sub(MASK, text))


class _Aliases:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def alias(self, name: str, contact_id: Any = None) -> str:
        if name in ("Me", "me", ""):
            return name
        if name not in self.names:
            numbered = f"Person #{len(self.names) + 1}"
            self.names[name] = f"Person {contact_id}" if isinstance(contact_id, int) else numbered
        return self.names[name]

    def collect(self, value: Any) -> None:
        if isinstance(value, dict):
            contact_id = value.get("contact_id", value.get("sender_contact_id"))
            for key in NAME_KEYS:
                if isinstance(value.get(key), str):
                    self.alias(value[key], contact_id if key in ("name", "sender") else None)
            for v in value.values():
                self.collect(v)
        elif isinstance(value, list):
            for v in value:
                self.collect(v)

    def redact_text(self, text: str) -> str:
        text = mask_identifiers(text)
        parts = {part: alias for name, alias in self.names.items()
                 for part in [name, *[w for w in re.split(r"\s+", name) if len(w) >= 2]]}
        if not parts:
            return text
        pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True)) + r")\b",
                             re.IGNORECASE)
        lowered = {p.lower(): a for p, a in parts.items()}
        return pattern.sub(lambda m: lowered.get(m.group(0).lower(), MASK), text)

    def redact(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self.redact(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact(v, key) for v in value]
        if isinstance(value, str):
            if key in NAME_KEYS:
                return self.names.get(value, mask_identifiers(value))
            return self.redact_text(value)
        return value
