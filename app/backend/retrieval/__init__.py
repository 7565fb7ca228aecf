"""Retrieval for Eve: six retrievers over SQLite fill a context pack's slices within its token budget.

    from backend.retrieval import fill_pack
    filled = fill_pack(load_pack("eve-chat"), question="when is the concert?", chat_ids=[3], contact_ids=[])
    filled.sources      # numbered S1, S2... in slice order, each with its message/conversation ids
    filled.ledger       # what each slice contributed, and what the trimming strategies took away
"""

from __future__ import annotations

from backend.retrieval.fill import FilledContext, Ledger, LedgerEntry, Source, fill_pack
from backend.retrieval.retrievers import Item, Query

__all__ = ["FilledContext", "Item", "Ledger", "LedgerEntry", "Query", "Source", "fill_pack"]
