"""Who a name means: live contacts ranked by how well their names match, then by how much you talk."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from backend.db.session import session_scope
from backend.tools import repo
from backend.tools.exceptions import PersonNotFound

MAX_MATCHES = 5
_WORD = re.compile(r"[\w']+")


def _norm(text: str | None) -> str:
    return " ".join(_WORD.findall((text or "").lower()))


def _score(query: str, person: dict[str, Any]) -> int:
    q = _norm(query)
    if not q:
        return 0
    name = _norm(person["name"])
    names = {_norm(person.get(k)) for k in ("first_name", "last_name", "nickname")} - {""}
    tokens = set(name.split()) | names
    digits = re.sub(r"\D", "", query)
    if q == name:
        return 5
    if q in names or (" " not in q and q in tokens):
        return 4
    if len(digits) >= 6 and digits in re.sub(r"\D", "", person.get("identifiers") or ""):
        return 4
    if "@" in query and query.strip().lower() in (person.get("identifiers") or "").lower():
        return 4
    if any(t.startswith(q) for t in tokens) or name.startswith(q):
        return 2
    if len(q) >= 3 and q in name:
        return 1
    return 0


def find_people(engine: Engine, name: str) -> list[dict[str, Any]]:
    """The best matches for `name`, best first (ties: more messages in the one-to-one chat first)."""
    with session_scope(engine) as conn:
        people = repo.list_people(conn)
    scored = [(s, p) for p in people if (s := _score(name, p)) > 0]
    scored.sort(key=lambda item: (-item[0], -item[1]["messages"], item[1]["contact_id"]))
    return [p for _, p in scored[:MAX_MATCHES]]


def resolve_person(engine: Engine, name: str) -> dict[str, Any]:
    """The one person `name` most likely means; PersonNotFound when nobody matches."""
    matches = find_people(engine, name)
    if not matches:
        raise PersonNotFound(f"Nobody in your contacts matches {name!r}; try find_person with part of the name.",
                             name=name)
    return matches[0]
