"""Entry point of `chatstats`."""

from __future__ import annotations

import json

import typer

from backend.cli.errors import handle_errors
from backend.config import get_settings
from backend.logging_setup import configure_logging

app = typer.Typer(help="ChatStats: a live, searchable mirror of your Messages.", no_args_is_help=True)


@app.callback()
def main(log_level: str = typer.Option(None, help="DEBUG, INFO, WARNING (default: CHATSTATS_LOG_LEVEL)")) -> None:
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
        print(json.dumps({"ok": all(c.ok for c in checks), "checks": [c.to_json() for c in checks]}))
    else:
        for check in checks:
            print(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
            if check.fix and not check.ok:
                print(f"     fix: {check.fix}")
            elif check.fix:
                print(f"     note: {check.fix}")
    if not all(c.ok for c in checks if c.name != "source chat.db"):
        raise typer.Exit(code=1)


@app.command()
@handle_errors
def serve() -> None:
    """Run the API alone on 127.0.0.1 and print the ready JSON line (url and token)."""
    from backend.cli.serve import serve as run_server

    run_server(get_settings())


if __name__ == "__main__":
    app()
