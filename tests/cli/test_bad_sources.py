"""`chatstats import` with every kind of bad --source: one line saying what to do, exit code 2, and the
cases told apart (missing, unreadable folder, damaged pages, locked); a folder holding chat.db works."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from backend.source.demo.generator import generate_demo_source

CHATSTATS = [sys.executable, "-m", "backend.cli.main"]
NOBODY = 65534


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad-sources") / "Messages"
    generate_demo_source(out, messages=1500, chats=6, contacts=12, seed=3)
    return out


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can use too (pytest's own temp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="chatstats-bad-source-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(*args: str, data_dir: Path, user: int | None = None) -> subprocess.CompletedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CHATSTATS_DATA_DIR": str(data_dir), "HOME": str(data_dir)}
    return subprocess.run([*CHATSTATS, *args], capture_output=True, text=True, timeout=120, env=env, user=user,
                          cwd=str(data_dir))


def _one_line_error(result: subprocess.CompletedProcess, code: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error [")]
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}]:"), result.stderr
    return lines[0]


def test_a_folder_holding_chat_db_is_accepted(demo, tmp_path):
    result = _run("import", "--source", str(demo), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    with closing(sqlite3.connect(demo / "chat.db")) as source, \
            closing(sqlite3.connect(tmp_path / "data" / "central.db")) as mirror:
        tapbacks = source.execute(
            "SELECT count(*) FROM message WHERE associated_message_type BETWEEN 2000 AND 3999").fetchone()[0]
        assert mirror.execute("SELECT count(*) FROM messages").fetchone()[0] == source.execute(
            "SELECT count(*) FROM message").fetchone()[0] - tapbacks
        stored = json.loads(mirror.execute("SELECT value FROM sync_state WHERE key = 'chatdb.source'").fetchone()[0])
        assert stored == str((demo / "chat.db").resolve())


def test_a_folder_without_chat_db_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    line = _one_line_error(_run("import", "--source", str(tmp_path / "empty"), data_dir=tmp_path / "data"),
                           "source_database_missing")
    assert "folder without a chat.db" in line


def test_a_source_and_a_backup_at_once_is_one_line_saying_which_to_give(demo, tmp_path):
    line = _one_line_error(_run("import", "--source", str(demo), "--backup", str(tmp_path / "backup"),
                                data_dir=tmp_path / "data"), "invalid_request")
    assert "--source or --backup, not both" in line
    assert not (tmp_path / "data" / "central.db").exists()


def test_an_iphone_backup_folder_is_accepted_as_source(demo, tmp_path):
    from backend.source.backup import write_fake_backup

    backup = tmp_path / "Backup" / "device"
    write_fake_backup(backup, sms_db=demo / "chat.db", addressbook_db=None)
    result = _run("import", "--source", str(backup), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    with closing(sqlite3.connect(demo / "chat.db")) as source:
        expected = source.execute("SELECT count(*) FROM message WHERE coalesce(associated_message_type, 0) "
                                  "NOT BETWEEN 2000 AND 3999").fetchone()[0]  # tapbacks are reactions
    assert summary["source"].startswith(str(backup)) and summary["max_source_rowid"] > 0
    with closing(sqlite3.connect(tmp_path / "data" / "central.db")) as mirror:
        assert mirror.execute("SELECT count(*) FROM messages").fetchone()[0] == expected


def test_damaged_pages_mid_file_are_reported_as_damage(demo, tmp_path):
    copy = tmp_path / "damaged"
    shutil.copytree(demo, copy)
    db = copy / "chat.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    with open(db, "r+b") as handle:  # the header and schema stay; a run of pages in the middle is garbage
        for page in range(pages // 3, pages // 3 + max(4, pages // 10)):
            handle.seek(page * page_size)
            handle.write(bytes([0xA5]) * page_size)
    line = _one_line_error(_run("import", "--source", str(db), data_dir=tmp_path / "data"), "source_database_corrupt")
    assert "damaged" in line and "good copy" in line


def test_a_locked_source_is_reported_as_locked_not_damaged(demo, tmp_path):
    copy = tmp_path / "locked"
    shutil.copytree(demo, copy)
    db = copy / "chat.db"
    with closing(sqlite3.connect(db, isolation_level=None)) as writer:
        writer.execute("PRAGMA journal_mode = DELETE")  # without WAL a writer keeps readers out
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("UPDATE message SET is_read = 1 WHERE ROWID = 1")
        line = _one_line_error(_run("import", "--source", str(db), data_dir=tmp_path / "data"),
                               "source_database_locked")
        writer.execute("ROLLBACK")
    assert "locked" in line and "try again" in line and "damaged" not in line


def test_a_source_in_a_folder_that_cannot_be_searched_gives_the_full_disk_access_advice(demo, shared_dir,
                                                                                        monkeypatch, capsys):
    private = shared_dir / "Library" / "Messages"
    shutil.copytree(demo, private)
    private.chmod(0o000)
    try:
        for source in (private / "chat.db", private):
            if os.geteuid() == 0:  # root reads everything: the command runs in this process as nobody
                line = _as_nobody(["import", "--source", str(source)], shared_dir, monkeypatch, capsys)
            else:
                line = _one_line_error(_run("import", "--source", str(source), data_dir=shared_dir / "data"),
                                       "source_database_unreadable")
            assert line.startswith("error [source_database_unreadable]:") and "Full Disk Access" in line
    finally:
        private.chmod(0o755)


def _as_nobody(args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI in this process with the effective uid of nobody (a subprocess as nobody could not
    read root's Python); the modules the command imports lazily are imported first."""
    import typer

    import backend.cli.progress
    import backend.mirror.importer
    import backend.source.backup
    import backend.source.locate  # noqa: F401 - imported before the privileges are dropped
    from backend.cli.main import import_
    from backend.config import reset_settings_cache

    monkeypatch.setenv("CHATSTATS_DATA_DIR", str(data_dir / "data"))
    monkeypatch.chdir(data_dir)  # settings read ./.env: a folder nobody may enter
    reset_settings_cache()
    os.seteuid(NOBODY)
    try:
        with pytest.raises(typer.Exit) as exited:
            import_(source=Path(args[2]), addressbook=None, backup=None)
    finally:
        os.seteuid(0)
    assert exited.value.exit_code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error [")]
    assert len(lines) == 1, err
    return lines[0]


def _write_not_a_database(path: Path, kind: str) -> None:
    if kind == "text":
        path.write_text("hello, this is not a database\n" * 200)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(bytes((n * 131 + 7) % 256 for n in range(8192)))
    else:  # an SQLite database of something else
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.commit()


@pytest.mark.parametrize(("kind", "says"), [("text", "not an SQLite database"), ("empty", "not an SQLite database"),
                                            ("random", "not an SQLite database"),
                                            ("other_sqlite", "not a Messages database")])
def test_a_file_that_is_not_a_messages_database_says_so_in_one_line(tmp_path, kind, says):
    source = tmp_path / "chat.db"
    _write_not_a_database(source, kind)
    result = _run("import", "--source", str(source), data_dir=tmp_path / "data")
    line = _one_line_error(result, "source_database_corrupt")
    assert says in line and str(source) in line
    assert not (tmp_path / "data" / "central.db").exists() or sqlite3.connect(
        tmp_path / "data" / "central.db").execute("SELECT count(*) FROM messages").fetchone()[0] == 0
