"""Fill a context pack's slices within its token budget, trimming by the pack's strategies in order.

Every slice is retrieved (in pack order: later slices may use what earlier ones found); while the total is
over the budget the pack's strategies apply one after another (limit_artifacts, shrink_time_window, which
retrieves again with a narrower window, drop_facets). If the pack still does not fit, items are cut from
the end, optional slices first, so the budget always holds. The ledger records each slice's items and
tokens before and after, and every step taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from backend.db.clock import now_ms as clock_now_ms
from backend.db.session import session_scope
from backend.prompts.pack import ContextPack, DropFacets, LimitArtifacts, ShrinkTimeWindow
from backend.retrieval import repo
from backend.retrieval.retrievers import DEFAULT_USER_NAME, RETRIEVERS, Item, Query, State


@dataclass(frozen=True)
class Source:
    id: str  # S1, S2... in slice order
    slice: str
    item: Item

    def as_prompt(self) -> dict[str, Any]:
        return self.item.as_source(self.id)


@dataclass(frozen=True)
class LedgerEntry:
    slice: str
    retriever: str
    action: str  # included | trimmed | dropped | empty
    retrieved_items: int
    retrieved_tokens: int
    items: int
    tokens: int
    source_ids: tuple[str, ...] = ()


@dataclass
class Ledger:
    budget: int
    used: int = 0
    entries: list[LedgerEntry] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # "shrink_time_window hits days 3650 -> 1825", ...

    def entry(self, slice_name: str) -> LedgerEntry:
        return next(e for e in self.entries if e.slice == slice_name)

    def as_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "used": self.used, "steps": list(self.steps),
                "slices": [e.__dict__ | {"source_ids": list(e.source_ids)} for e in self.entries]}


@dataclass(frozen=True)
class FilledContext:
    pack_id: str
    pack_version: str
    user_name: str
    sources: list[Source]
    ledger: Ledger

    def prompt_sources(self) -> list[dict[str, Any]]:
        return [s.as_prompt() for s in self.sources]

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)


@dataclass
class _Plan:
    params: dict[str, dict[str, Any]]
    dropped: set[str] = field(default_factory=set)
    artifact_limit: int | None = None


def fill_pack(pack: ContextPack, *, question: str, chat_ids: list[int] | None, contact_ids: list[int] | None,
              budget: int | None = None, conversation_id: int | None = None,
              checkpoint_message_id: int | None = None, now_ms: int | None = None, model: str | None = None,
              engine: Engine | None = None) -> FilledContext:
    """`chat_ids` and `contact_ids` both empty or None: every chat; else the chats named plus those of the contacts."""
    with session_scope(engine) as conn:
        scope = _scope(conn, chat_ids, contact_ids)
        query = Query(question=question, chat_ids=scope, conversation_id=conversation_id,
                      checkpoint_message_id=checkpoint_message_id,
                      now_ms=clock_now_ms() if now_ms is None else now_ms, model=model)
        return _fill(conn, pack, query, budget or pack.token_budget)


def _scope(conn: Connection, chat_ids: list[int] | None, contact_ids: list[int] | None) -> list[int] | None:
    if not chat_ids and not contact_ids:
        return None
    chats = set(chat_ids or ())
    if contact_ids:
        chats.update(repo.list_chat_ids_of_contacts(conn, contact_ids=list(contact_ids)))
    return sorted(chats)


def _fill(conn: Connection, pack: ContextPack, query: Query, budget: int) -> FilledContext:
    plan = _Plan(params={s.name: dict(s.params) for s in pack.slices})
    retrieved, state = _retrieve(conn, pack, plan, query)
    first = {name: (len(items), _tokens(items)) for name, items in retrieved.items()}
    ledger = Ledger(budget=budget)

    def fits() -> bool:
        return sum(_tokens(items) for items in retrieved.values()) <= budget

    for step in pack.trimming:
        if fits():
            break
        if isinstance(step, LimitArtifacts):
            plan.artifact_limit = step.params.max_items
            _limit_artifacts(pack, plan, retrieved)
            ledger.steps.append(f"limit_artifacts max_items {step.params.max_items}")
        elif isinstance(step, ShrinkTimeWindow):
            while not fits():
                changed = []
                for name in step.params.slices:
                    days = float(plan.params[name]["days"])
                    narrower = max(step.params.min_days, days * step.params.factor)
                    if narrower < days and name not in plan.dropped:
                        plan.params[name]["days"] = narrower
                        changed.append(f"{name} days {days:g} -> {narrower:g}")
                if not changed:
                    break
                retrieved, state = _retrieve(conn, pack, plan, query)
                ledger.steps.append("shrink_time_window " + ", ".join(changed))
        elif isinstance(step, DropFacets):
            for name in step.params.order:
                if fits():
                    break
                if name not in plan.dropped:
                    plan.dropped.add(name)
                    retrieved[name] = []
                    ledger.steps.append(f"drop_facets {name}")
    if not fits():
        _cut_to_budget(pack, retrieved, budget, ledger)

    sources: list[Source] = []
    for piece in pack.slices:
        items = retrieved[piece.name]
        count, tokens = first[piece.name]
        # "empty": nothing was found; a slice that trimming emptied counts as trimmed
        action = ("dropped" if piece.name in plan.dropped else "empty" if not items and not count
                  else "trimmed" if len(items) < count or _tokens(items) < tokens else "included")
        ids = tuple(sid for item in items for sid in item.source_ids)
        ledger.entries.append(LedgerEntry(piece.name, piece.retriever, action, count, tokens, len(items),
                                          _tokens(items), ids))
        if piece.retriever != "user_name":
            for item in items:
                sources.append(Source(f"S{len(sources) + 1}", piece.name, item))
    ledger.used = sum(_tokens(items) for items in retrieved.values())
    return FilledContext(pack.id, pack.version, state.user_name or DEFAULT_USER_NAME, sources, ledger)


def _retrieve(conn: Connection, pack: ContextPack, plan: _Plan, query: Query) -> tuple[dict[str, list[Item]], State]:
    state = State()
    retrieved: dict[str, list[Item]] = {}
    for piece in pack.slices:
        if piece.name in plan.dropped:
            retrieved[piece.name] = []
            continue
        retrieved[piece.name] = RETRIEVERS[piece.retriever](conn, plan.params[piece.name], query, state)
    _limit_artifacts(pack, plan, retrieved)
    return retrieved, state


def _limit_artifacts(pack: ContextPack, plan: _Plan, retrieved: dict[str, list[Item]]) -> None:
    if plan.artifact_limit is None:
        return
    for piece in pack.slices:
        if piece.retriever == "artifacts":
            retrieved[piece.name] = retrieved[piece.name][: plan.artifact_limit]


def _cut_to_budget(pack: ContextPack, retrieved: dict[str, list[Item]], budget: int, ledger: Ledger) -> None:
    """The last resort: drop items from the end, optional slices (last first) before required ones."""
    order = [s for s in reversed(pack.slices) if not s.required] + [s for s in reversed(pack.slices) if s.required]
    total = sum(_tokens(items) for items in retrieved.values())
    for piece in order:
        cut = 0
        items = retrieved[piece.name]
        while items and total > budget:
            total -= items.pop().tokens
            cut += 1
        if cut:
            ledger.steps.append(f"budget_cut {piece.name} -{cut} items")
        if total <= budget:
            return


def _tokens(items: list[Item]) -> int:
    return sum(item.tokens for item in items)
