"""Entry point of `chatstats`."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import typer

from backend.cli.debug import app as debug_app
from backend.cli.errors import handle_errors
from backend.cli.insights import app as insights_app
from backend.config import get_settings
from backend.errors import InvalidRequest
from backend.logging_setup import configure_logging

app = typer.Typer(help="ChatStats: a live, searchable mirror of your Messages.", no_args_is_help=True)
app.add_typer(debug_app, name="debug")
app.add_typer(insights_app, name="insights")


def _print_version(value: bool) -> None:
    if value:
        print(f"chatstats {version('chatstats')}")
        raise typer.Exit()


@app.callback()
def main(
    log_level: str = typer.Option(None, help="DEBUG, INFO, WARNING (default: CHATSTATS_LOG_LEVEL)"),
    show_version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                      help="Print the version and exit."),
) -> None:
    configure_logging(log_level or get_settings().log_level)


@app.command()
@handle_errors
def migrate() -> None:
    """Migrate central.db (in CHATSTATS_DATA_DIR) to the latest schema."""
    from backend.db import migrate as migrations
    from backend.db.engine import get_engine

    engine = get_engine(get_settings().central_db_path)
    revision = migrations.upgrade(engine)
    print(json.dumps({"event": "migrated", "database": str(get_settings().central_db_path), "revision": revision}))


@app.command()
@handle_errors
def doctor(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Check the source database, Redis, the LLM model and the data dir, and say how to fix problems."""
    from backend.doctor.service import run_checks

    checks = run_checks(get_settings())
    if as_json:
        print(json.dumps({"ok": all(c.ok for c in checks), "problems": sum(c.problem for c in checks),
                          "checks": [c.to_json() for c in checks]}))
    else:
        for check in checks:
            print(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
            if check.fix and not check.ok:
                print(f"     fix: {check.fix}")
            elif check.fix:
                print(f"     note: {check.fix}")
    if any(check.problem for check in checks):  # a missing chat.db is not one: demo data covers it
        raise typer.Exit(code=1)


@app.command()
@handle_errors
def serve() -> None:
    """Run the API alone on 127.0.0.1 and print the ready JSON line (url and token)."""
    from backend.cli.serve import serve as run_server

    run_server(get_settings())


@app.command()
@handle_errors
def mcp(privacy: str = typer.Option(None, "--privacy", help="full, redacted or aggregate (default: "
                                    "CHATSTATS_TOOLS_PRIVACY, else full)")) -> None:
    """Serve Eve's read-only tools to an MCP client (Claude Desktop and others) over stdio."""
    from backend.cli.mcp import run_mcp

    run_mcp(get_settings(), privacy=privacy)


@app.command("import")
@handle_errors
def import_(
    source: Path = typer.Option(None, "--source", help="chat.db to import, or a folder holding one, or an iPhone "
                                "backup folder (default: CHATSTATS_SOURCE_CHAT_DB)"),
    addressbook: Path = typer.Option(None, "--addressbook", help="AddressBook folder (default: "
                                     "CHATSTATS_ADDRESSBOOK_DIR when set, else the one beside the source, else "
                                     "~/Library/Application Support/AddressBook)"),
    backup: Path = typer.Option(None, "--backup", help="an unencrypted iPhone backup folder (finds sms.db "
                                "and the address book through Manifest.db)"),
) -> None:
    """Mirror a Messages database and its contacts into central.db; prints a JSON summary last."""
    from backend.cli.progress import progress_reporter
    from backend.mirror.importer import import_source
    from backend.source.locate import choose_source

    settings = get_settings()
    chosen = choose_source(settings, source=source, addressbook=addressbook, backup=backup)
    with progress_reporter() as progress:
        summary = import_source(settings, source=chosen.chat_db, addressbook_dir=chosen.addressbook_dir,
                                iphone_addressbook=chosen.iphone_addressbook, progress=progress)
    print(json.dumps(summary.to_json()))


@app.command("demo-source")
@handle_errors
def demo_source(
    out_dir: Path = typer.Argument(..., help="folder to write chat.db, AddressBook/ and Attachments/ into"),
    messages: int = typer.Option(20_000, min=0), chats: int = typer.Option(40, min=1),
    contacts: int = typer.Option(150, min=1), seed: int = typer.Option(7),
    live: float = typer.Option(0.0, "--live", min=0, metavar="RATE",
                               help="then keep writing to it like Messages, RATE actions a second, until stopped"),
    schema: str = typer.Option("macos15", "--schema",
                               help="which macOS writes it: osx10.10, macos12, macos14, macos15, macos26"),
) -> None:
    """Generate a synthetic Messages database and Contacts in Apple's schema; prints a JSON summary."""
    import signal
    import threading

    from backend.source.demo.generator import MANIFEST_NAME, generate_demo_source
    from backend.source.demo.live import run_live

    chat_db = out_dir / "chat.db"
    if live > 0 and chat_db.exists():
        print(f"{chat_db} exists: not generating, writing to it live", file=sys.stderr)
        manifest = out_dir / MANIFEST_NAME
        data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {"chat_db": str(chat_db)}
    else:
        data = generate_demo_source(out_dir, messages=messages, chats=chats, contacts=contacts, seed=seed,
                                    schema=schema).to_json()
    print(json.dumps(data), flush=True)
    if live > 0:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        run_live(chat_db, rate=live, seed=seed, stop=stop)


@app.command()
@handle_errors
def up(
    source: Path = typer.Option(None, "--source", help="chat.db to mirror, a folder holding one, or an iPhone "
                                "backup folder (default: CHATSTATS_SOURCE_CHAT_DB)"),
    addressbook: Path = typer.Option(None, "--addressbook", help="AddressBook folder (default: "
                                     "CHATSTATS_ADDRESSBOOK_DIR when set, else the one beside the source, else "
                                     "~/Library/Application Support/AddressBook)"),
    demo: bool = typer.Option(False, "--demo", help="mirror a demo source generated in the data dir"),
    demo_if_missing: bool = typer.Option(False, "--demo-if-missing", help="demo data when there is no chat.db "
                                         "(an unreadable one is still an error)"),
    demo_messages: int = typer.Option(20_000, min=0, help="size of a demo source generated now"),
    demo_rate: float = typer.Option(0.5, min=0, help="demo only: Messages-like writes per second (0: none)"),
    parent_pid: int = typer.Option(None, "--parent-pid", help="exit when this process dies (the Electron shell)"),
) -> None:
    """Run everything (redis, API, workers, beat), print the ready JSON line, restart what crashes."""
    print("ChatStats is starting...", file=sys.stderr, flush=True)
    from backend.cli.up import up as run_up

    raise typer.Exit(run_up(source=source, addressbook=addressbook, demo=demo, demo_if_missing=demo_if_missing,
                            demo_messages=demo_messages, demo_rate=demo_rate, parent_pid=parent_pid))


@app.command()
@handle_errors
def run(
    demo_messages: int = typer.Option(20_000, help="size of the demo source made when there is no chat.db"),
    demo_rate: float = typer.Option(0.5, help="demo only: Messages-like writes per second, to show live sync"),
) -> None:
    """The main job: import the Messages database (demo data when there is none), then serve the API.

    With demo data, a background thread keeps writing to the demo chat.db like Messages does, so the
    mirror is visibly live.
    """
    import threading

    from backend.cli.serve import serve as run_server
    from backend.mirror.importer import import_source
    from backend.source.locate import choose_source, ensure_demo_source

    settings = get_settings()
    chosen = ensure_demo_source(choose_source(settings, if_missing="demo"), messages=demo_messages)
    summary = import_source(settings, source=chosen.chat_db, addressbook_dir=chosen.addressbook_dir,
                            iphone_addressbook=chosen.iphone_addressbook)
    print(json.dumps(summary.to_json()), flush=True)
    if chosen.demo and demo_rate > 0:
        from backend.source.demo.live import run_live

        threading.Thread(target=run_live, args=(chosen.chat_db,), kwargs={"rate": demo_rate}, name="demo-writer",
                         daemon=True).start()
    run_server(settings)


@app.command()
@handle_errors
def analyze(
    all_chats: bool = typer.Option(False, "--all", help="every conversation of every chat"),
    chat: int = typer.Option(None, "--chat", metavar="ID", help="the conversations of one chat"),
    since: str = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="conversations with messages since then"),
    passes: list[str] = typer.Option([], "--pass", help="a batch pass to run (repeatable; default: every enabled)"),
    yes: bool = typer.Option(False, "--yes", help="create the run without asking"),
    wait: bool = typer.Option(False, "--wait", help="follow the run's progress until it ends"),
    timeout: float = typer.Option(3600.0, "--timeout", help="with --wait: give up following after this many s"),
) -> None:
    """Estimate an analysis run (default scope: the busiest chats of the last year), then run it."""
    from backend.cli.analyze import analyze as run_analyze

    raise typer.Exit(run_analyze(get_settings(), all_chats=all_chats, chat_id=chat, since=since, passes=passes,
                                 yes=yes, wait=wait, timeout_s=timeout))


@app.command()
@handle_errors
def search(
    q: str = typer.Argument(..., help='words, "phrases", emoji, and from:Sam in:"Family" before:/after:DATE has:link'),
    chat_id: list[int] = typer.Option(None, "--chat-id"),
    contact_id: list[int] = typer.Option(None, "--contact-id", help="chats this person is in"),
    sender_id: list[int] = typer.Option(None, "--sender-id", help="messages this person sent"),
    from_me: bool = typer.Option(None, "--from-me/--from-them"),
    since: int = typer.Option(None, "--since", help="unix ms"),
    until: int = typer.Option(None, "--until", help="unix ms"),
    has_attachment: bool = typer.Option(False, "--has-attachment"),
    has_link: bool = typer.Option(False, "--has-link"),
    sort: str = typer.Option("relevance", "--sort", help="relevance, newest or oldest"),
    offset: int = typer.Option(0, "--offset"),
    limit: int = typer.Option(20, "--limit"),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, fts or vector"),
    conversations: bool = typer.Option(False, "--conversations", help="conversations (fused), not messages"),
    embed_first: bool = typer.Option(False, "--embed", help="embed new or changed conversations first"),
) -> None:
    """Search messages over central.db (total, one page, highlights); prints one JSON object."""
    from backend.db import migrate as migrations
    from backend.db.engine import get_engine
    from backend.search import message_search, service

    central_db = get_settings().central_db_path
    if not central_db.exists():  # nothing to search, and no empty database left behind
        raise InvalidRequest(f"Nothing has been imported into {central_db} yet: run `chatstats import` (or "
                             "`chatstats up`) first.")
    engine = get_engine(central_db)
    migrations.upgrade(engine)
    if embed_first:
        service.embed_conversations(engine)
    if conversations:
        results = service.hybrid_search(engine, q, chat_id=chat_id[0] if chat_id else None,
                                        contact_id=contact_id[0] if contact_id else None, since=since,
                                        until=until, limit=limit, mode=mode)
        print(json.dumps({"q": q, "mode": mode, "results": results}, ensure_ascii=False))
        return
    filters = message_search.SearchFilters(
        chat_ids=chat_id or None, contact_ids=contact_id or None, sender_ids=sender_id or None, from_me=from_me,
        since=since, until=until, has_attachment=has_attachment, has_link=has_link)
    found = message_search.search_messages(engine, q, filters=filters, sort=message_search.checked_sort(sort),
                                           offset=offset, limit=limit, mode=message_search.checked_mode(mode))
    print(json.dumps(found, ensure_ascii=False))


if __name__ == "__main__":  # python -m backend.cli.main
    app()
