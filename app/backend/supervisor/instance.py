"""One `chatstats up` per data dir: two would share (and unlink) one redis socket and race on central.db."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from backend.supervisor.exceptions import AlreadyRunning


def hold_instance_lock(data_dir: Path) -> IO[str]:
    """An exclusive lock on `<data_dir>/up.lock`, held until the returned file is closed or we exit."""
    handle = open(data_dir / "up.lock", "a+", encoding="utf-8")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise AlreadyRunning(f"`chatstats up` is already running for {data_dir} (pid {holder}); stop it first, or "
                             "set CHATSTATS_DATA_DIR to another folder.", pid=holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
