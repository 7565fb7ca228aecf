"""What one chat.db can answer: its tables and columns, and the unit of its dates.

Messages has added columns to chat.db with almost every macOS release (tapbacks in 10.12, edits in
13, emoji tapbacks in 15, `chat_service` in 26) and changed the date unit from seconds to
nanoseconds in 10.13. Every read of a source goes through one `SchemaCapabilities`, probed once when
the source is opened, so a column the file lacks is read as NULL (or its documented default) and a
feature it lacks is simply absent, never an `OperationalError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from backend.source.dates import SECONDS_LIMIT

# Tables the readers know; a table the file lacks has no columns here.
KNOWN_TABLES = (
    "message", "handle", "chat", "attachment", "chat_message_join", "chat_handle_join",
    "message_attachment_join", "deleted_messages", "chat_service", "chat_lookup",
)
# The chat ↔ service table of macOS 26, whose chats have `any;-;` guids: its two columns, by the
# names each may have.
CHAT_SERVICE_CHAT = ("chat", "chat_id")
CHAT_SERVICE_SERVICE = ("service", "service_name")


@dataclass(frozen=True, slots=True)
class SchemaCapabilities(Mapping[str, frozenset[str]]):
    """Columns per table (empty for a missing table) and the date unit; a read-only mapping table -> columns."""

    columns: dict[str, frozenset[str]]
    date_unit: str = "unknown"  # "ns", "s", "mixed" (an upgraded file keeps its old rows in seconds) or "unknown"
    extra: dict[str, str] = field(default_factory=dict)

    # Mapping: capabilities["message"] is the set of message columns
    def __getitem__(self, table: str) -> frozenset[str]:
        return self.columns.get(table, frozenset())

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def has(self, table: str, column: str) -> bool:
        return column in self[table]

    def has_table(self, table: str) -> bool:
        return bool(self[table])

    def column(self, alias: str, table: str, column: str, *, default: str = "NULL") -> str:
        """`alias.column` when the file has it, else `default` (an SQL literal)."""
        return f"{alias}.{column}" if self.has(table, column) else default

    @property
    def tapbacks(self) -> bool:
        return self.has("message", "associated_message_type") and self.has("message", "associated_message_guid")

    @property
    def edits(self) -> bool:
        return self.has("message", "date_edited") or self.has("message", "message_summary_info")

    def chat_service_sql(self, chat_alias: str, schema: str | None = None) -> str:
        """The service of a chat: `service_name`, or (macOS 26, `any` chats) its row in chat_service."""
        own = self.column(chat_alias, "chat", "service_name")
        table = self["chat_service"]
        chat_col = next((c for c in CHAT_SERVICE_CHAT if c in table), None)
        service_col = next((c for c in CHAT_SERVICE_SERVICE if c in table), None)
        if chat_col is None or service_col is None:
            return own
        prefix = f"{schema}." if schema else ""
        return (f"coalesce(NULLIF({own}, 'any'), (SELECT min(cs.{service_col}) FROM {prefix}chat_service cs "
                f"WHERE cs.{chat_col} = {chat_alias}.ROWID), {own})")

    def summary(self) -> dict[str, object]:
        """For logs and doctor: which features this file has."""
        return {"date_unit": self.date_unit, "tapbacks": self.tapbacks, "edits": self.edits,
                "emoji_tapbacks": self.has("message", "associated_message_emoji"),
                "chat_service": self.has_table("chat_service"),
                "tables": sorted(t for t in KNOWN_TABLES if self.has_table(t))}


def probe(conn: sqlite3.Connection, *, schema: str = "main") -> SchemaCapabilities:
    """Read the tables and columns of `schema` on `conn` (main, or an ATTACHed source) and its date unit."""
    columns = {
        table: frozenset(row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})"))
        for table in KNOWN_TABLES
    }
    return SchemaCapabilities(columns=columns, date_unit=_date_unit(conn, schema, columns["message"]))


def _date_unit(conn: sqlite3.Connection, schema: str, message_columns: frozenset[str]) -> str:
    """Seconds before High Sierra, nanoseconds after; an upgraded file holds both (`apple_ms_sql` converts
    per value, so this is only reported). Looks at the oldest and newest rows by ROWID (two index reads)."""
    if "date" not in message_columns:
        return "unknown"
    units = set()
    for order in ("ASC", "DESC"):
        row = conn.execute(f"SELECT date FROM {schema}.message WHERE coalesce(date, 0) != 0 "
                           f"ORDER BY ROWID {order} LIMIT 1").fetchone()
        if row is not None and isinstance(row[0], int | float):
            units.add("s" if -SECONDS_LIMIT < row[0] < SECONDS_LIMIT else "ns")
    if not units:
        return "unknown"
    return units.pop() if len(units) == 1 else "mixed"
