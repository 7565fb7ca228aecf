"""A realistic mirror behind a real app, for the inbox read API tests.

The demo source is generated once per session (a few of its newest received messages marked unread,
as Messages leaves them) and imported into each test's own data dir. Test modules import the
fixtures they use from here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings
from backend.mirror.importer import import_source
from backend.source.demo.generator import generate_demo_source

TOKEN = "test-token-inbox-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UNREAD_MARKED = 7
_GENERATED: dict[str, Path] = {}  # each test module imports the fixture: generate once per session all the same


@pytest.fixture(scope="session")
def inbox_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if "source" in _GENERATED:
        return _GENERATED["source"]
    out = tmp_path_factory.mktemp("inbox-demo")
    generate_demo_source(out, messages=2000, chats=8, contacts=30, seed=7)
    with sqlite3.connect(out / "chat.db") as source:  # the generated fixture, not a user's chat.db
        # The generator leaves some of the last two days' messages unread, and which ones fall in those two days
        # depends on the time of day it runs: start from everything read, then mark exactly UNREAD_MARKED.
        source.execute("UPDATE message SET is_read = 1, date_read = date WHERE is_from_me = 0 AND is_read = 0")
        marked = source.execute(
            """
            UPDATE message SET is_read = 0, date_read = 0 WHERE ROWID IN (
                SELECT m.ROWID FROM message m JOIN chat_message_join j ON j.message_id = m.ROWID
                WHERE m.is_from_me = 0 AND m.associated_message_type = 0 AND m.item_type = 0
                ORDER BY m.date DESC LIMIT :n)
            """,
            {"n": UNREAD_MARKED},
        ).rowcount
    assert marked == UNREAD_MARKED
    _GENERATED["source"] = out
    return out


@pytest.fixture
def db(inbox_source: Path, isolated_data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The imported central.db, opened directly: the tests' independent view of the truth."""
    settings = get_settings()
    import_source(settings, source=inbox_source / "chat.db", addressbook_dir=inbox_source / "AddressBook")
    conn = sqlite3.connect(settings.central_db_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@pytest.fixture
def api(db: sqlite3.Connection) -> Iterator[TestClient]:
    """A client of the real app over the imported mirror, sending the launch token."""
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        yield client


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()
