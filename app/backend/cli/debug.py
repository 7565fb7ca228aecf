"""`chatstats debug ...`: decoders run on one file, printing JSON, to check them against real data."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Run a decoder on a file and print what it finds as JSON.", no_args_is_help=True)


@app.command("decode-body")
def decode_body(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a raw attributedBody blob"),
) -> None:
    """Decode a message.attributedBody (typedstream) blob."""
    from backend.source.attributed_body import decode_attributed_body

    print(json.dumps(decode_attributed_body(file.read_bytes()).to_json(), ensure_ascii=False))


@app.command("decode-summary")
def decode_summary(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                               help="a raw message_summary_info plist")) -> None:
    """Decode a message.message_summary_info (binary plist) blob: edits and unsent parts."""
    from backend.source.summary_info import decode_summary_info

    print(json.dumps(decode_summary_info(file.read_bytes()).to_json(), ensure_ascii=False))
