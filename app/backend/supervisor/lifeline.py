"""Helper processes die with the process that started them, even when it is killed with SIGKILL.

A process pool's workers wait on a pipe whose writing end they inherited themselves (fork), so they never
see their parent go: without this, `kill -9` of `chatstats import` leaves its decode workers running
forever. `die_with_parent` (a pool initializer) starts a daemon thread in the worker that exits it as soon
as its parent is gone (it is re-parented: getppid() changes). Polling works on Linux and macOS alike and,
unlike PR_SET_PDEATHSIG, does not depend on which thread of the parent forked the worker.
"""

from __future__ import annotations

import os
import threading

POLL_S = 0.2


def die_with_parent(parent_pid: int) -> None:
    """Call in the child (e.g. as a ProcessPoolExecutor initializer, with the parent's os.getpid())."""
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(POLL_S):
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
