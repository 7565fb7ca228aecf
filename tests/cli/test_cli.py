from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHATSTATS = [sys.executable, "-m", "backend.cli.main"]


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CHATSTATS, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_doctor_says_there_is_no_chat_db_and_how_to_use_demo_data(isolated_data_dir):
    result = _run("doctor", "--json")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["source chat.db"]["ok"] is False
    assert "chatstats demo-source" in checks["source chat.db"]["fix"]
    assert checks["redis"]["ok"] is True and "redis-server" in checks["redis"]["detail"]
    assert checks["data dir"]["ok"] is True and str(isolated_data_dir) in checks["data dir"]["detail"]
    assert checks["llm model"]["detail"].startswith("offline")
    assert result.returncode == 0  # a missing chat.db is expected off a Mac: demo data covers it
    human = _run("doctor")
    assert "[!!] source chat.db" in human.stdout and "fix:" in human.stdout


def test_doctor_reports_an_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = _run("doctor", "--json", env={"CHATSTATS_DATA_DIR": str(blocker / "data")})
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["data dir"]["ok"] is False and "CHATSTATS_DATA_DIR" in checks["data dir"]["fix"]
    assert result.returncode == 1


def test_doctor_exits_non_zero_on_a_damaged_source_but_not_on_a_missing_one(tmp_path, isolated_data_dir):
    damaged = tmp_path / "Messages" / "chat.db"
    damaged.parent.mkdir()
    damaged.write_bytes(b"not a database" * 100)
    result = _run("doctor", "--json", env={"CHATSTATS_SOURCE_CHAT_DB": str(damaged)})
    report = json.loads(result.stdout)
    source = next(c for c in report["checks"] if c["name"] == "source chat.db")
    assert source["ok"] is False and source["blocking"] is True and "not an SQLite database" in source["detail"]
    assert report["problems"] == 1 and result.returncode == 1
    missing = _run("doctor", "--json")  # conftest: CHATSTATS_SOURCE_CHAT_DB names a missing file
    assert json.loads(missing.stdout)["problems"] == 0 and missing.returncode == 0


def test_migrate_prints_the_revision(isolated_data_dir):
    result = _run("migrate")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    from backend.db.migrate import head_revision

    assert line["revision"] == head_revision() and (isolated_data_dir / "central.db").exists()


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    result = _run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"chatstats {version('chatstats')}"


def test_search_before_any_import_says_to_import_and_creates_nothing(isolated_data_dir):
    result = _run("search", "hello")
    assert result.returncode == 2 and "chatstats import" in result.stderr
    assert not isolated_data_dir.exists()  # no empty database (nor its folder) left behind


def test_data_dir_and_central_db_are_private(isolated_data_dir):
    assert _run("migrate").returncode == 0
    assert isolated_data_dir.stat().st_mode & 0o777 == 0o700
    assert (isolated_data_dir / "central.db").stat().st_mode & 0o777 == 0o600


def test_import_of_a_missing_source_is_a_clear_error(tmp_path):
    result = _run("import", "--source", str(tmp_path / "missing" / "chat.db"))
    assert result.returncode == 2
    assert "source_database_missing" in result.stderr and "demo-source" in result.stderr


def test_debug_decode_body_on_real_blobs(testdata_dir):
    blob = testdata_dir / "imessage-exporter" / "typedstream" / "URL"
    result = _run("debug", "decode-body", str(blob))
    body = json.loads(result.stdout)
    assert body["text"] == "https://github.com/ReagentX/Logria"
    assert body["links"] == ["https://github.com/ReagentX/Logria"]
    assert set(body) == {"text", "parts", "attachments", "mentions", "links", "one_time_code",
                         "audio_transcription", "errors"}


def test_debug_decode_summary_on_real_plists(testdata_dir):
    plist = testdata_dir / "imessage-exporter" / "edited_message" / "Edited.plist"
    body = json.loads(_run("debug", "decode-summary", str(plist)).stdout)
    assert body["fully_unsent"] is False
    versions = body["edited_parts"]["0"]
    assert [v["text"] for v in versions] == ["First message  ", "Edit 1", "Edit 2", "Edited message"]


def test_demo_source_then_import_prints_json_summaries(tmp_path, isolated_data_dir):
    out = tmp_path / "demo"
    made = _run("demo-source", str(out), "--messages", "400", "--chats", "5", "--contacts", "12", "--seed", "3")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout.strip().splitlines()[-1])
    assert summary["messages"] >= 400 and Path(summary["chat_db"]).exists()
    imported = _run("import", "--source", str(out / "chat.db"))
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout.strip().splitlines()[-1])
    assert result["event"] == "imported" and result["counts"]["messages"] > 300
    assert result["counts"]["contacts"] >= 5  # the AddressBook beside a demo source is found


def test_the_inbox_url_is_announced_once_on_a_terminal_and_never_into_a_log(capsys):
    import io

    from backend.cli.up import _announce

    terminal = io.StringIO()
    _announce("http://127.0.0.1:5/app/#token=t", terminal=terminal)
    assert terminal.getvalue().count("#token=t") == 1
    _announce("http://127.0.0.1:5/app/#token=t")  # stderr is captured here: not a terminal, nothing said
    assert "#token=t" not in capsys.readouterr().err


def test_doctor_reads_the_source_the_import_would_read_a_backup_folder(tmp_path, monkeypatch):
    import sqlite3
    from contextlib import closing

    from backend.config import get_settings, reset_settings_cache
    from backend.doctor.service import check_source_chat_db
    from backend.source.backup import write_fake_backup
    from backend.source.demo.generator import generate_demo_source

    phone = tmp_path / "phone"
    generate_demo_source(phone, messages=80, chats=3, contacts=5, seed=2)
    backup = tmp_path / "Backup" / "device"
    write_fake_backup(backup, sms_db=phone / "chat.db", addressbook_db=None)
    with closing(sqlite3.connect(phone / "chat.db")) as conn:
        expected = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    monkeypatch.setenv("CHATSTATS_SOURCE_CHAT_DB", str(backup))
    reset_settings_cache()
    check = check_source_chat_db(get_settings())
    assert check.ok and f"({expected} messages;" in check.detail and "iPhone backup" in check.detail
    (backup / "Manifest.db").unlink()
    (backup / "Manifest.plist").write_bytes(b"")  # still a backup folder, now an unusable one
    broken = check_source_chat_db(get_settings())
    assert not broken.ok and "Manifest.db" in broken.detail
