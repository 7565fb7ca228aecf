"""Which source to mirror: the user's Messages database, else demo data generated in the data dir."""

from __future__ import annotations

import logging
from pathlib import Path

from backend.config import Settings, data_dir

log = logging.getLogger(__name__)


def demo_dir() -> Path:
    return data_dir() / "demo-source"


def existing_source(settings: Settings) -> tuple[Path, Path | None] | None:
    """The configured chat.db if it exists, else a demo source already generated, else None."""
    chat_db = settings.source_chat_db.expanduser()
    if chat_db.exists():
        addressbook = settings.addressbook_dir.expanduser()
        return chat_db, addressbook if addressbook.is_dir() else None
    folder = demo_dir()
    if (folder / "chat.db").exists():
        return folder / "chat.db", folder / "AddressBook"
    return None


def default_source(settings: Settings, *, demo_messages: int = 20_000) -> tuple[Path, Path | None]:
    """(chat.db, AddressBook folder): the configured ones when chat.db exists, else a demo source."""
    found = existing_source(settings)
    if found is not None:
        return found
    folder = demo_dir()
    from backend.source.demo.generator import generate_demo_source  # noqa: PLC0415 - the generator, only for a missing demo

    log.info("no Messages database at %s: generating demo data in %s", settings.source_chat_db, folder)
    generate_demo_source(folder, messages=demo_messages)
    return folder / "chat.db", folder / "AddressBook"
