"""One supervised child process: spawn it so it cannot outlive us, pass its output on, stop it, and
space out its restarts.

Children run in their own process group, so a Ctrl-C on the terminal reaches only the supervisor,
which then stops them in order; stopping kills what is left of a child's group (pool processes).

On Linux each child also asks the kernel for SIGTERM when the supervisor dies (PR_SET_PDEATHSIG), so a
SIGKILLed supervisor leaves no orphans. The signal fires when the *thread* that forked the child exits,
so children must be spawned from the supervisor's main thread (they are: its loop runs there).
macOS has no PR_SET_PDEATHSIG: there a SIGKILLed supervisor orphans its children (a clean SIGTERM or
the death of --parent-pid still stops them); the Electron shell should stop the backend with SIGTERM.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from backend.supervisor.exceptions import ChildFailedToStart

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
TAIL_LINES = 40
_stderr_lock = threading.Lock()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()  # resolved before any fork: preexec_fn must do as little as possible


def _preexec(supervisor_pid: int, niceness: int = 0) -> Callable[[], None]:
    def run_in_child() -> None:
        os.setpgid(0, 0)
        if niceness:
            os.nice(niceness)
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != supervisor_pid:  # the supervisor died before prctl took effect
                os._exit(1)

    return run_in_child


class Backoff:
    """Delays before restarts: first, 2x first, 4x first ... capped; back to first after a healthy run."""

    def __init__(self, first: float = 0.5, maximum: float = 30.0, reset_after: float = 60.0) -> None:
        self.first, self.maximum, self.reset_after = first, maximum, reset_after
        self.failures = 0

    def next_delay(self, uptime: float) -> float:
        if uptime >= self.reset_after:
            self.failures = 0
        delay = min(self.first * 2 ** self.failures, self.maximum)
        self.failures += 1
        return delay


@dataclass(frozen=True)
class ChildSpec:
    """What to run. `on_line` sees each output line first and returns True to keep it out of the log."""

    name: str
    argv: list[str]
    on_line: Callable[[Child, str], bool] | None = None
    niceness: int = 0  # added to the child's nice value (workers: the API keeps the CPU it needs)


class Child:
    def __init__(self, spec: ChildSpec, *, backoff: Backoff | None = None) -> None:
        self.spec = spec
        self.backoff = backoff or Backoff()
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None  # set when it died and waits for its backoff
        self.restarts = 0
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.ready_line: dict | None = None  # the API's {"event":"ready",...}, set by its on_line
        self._pump: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, env: dict[str, str]) -> None:
        """Spawn it (call from the main thread: see the module docstring)."""
        self.ready_line = None
        self.tail.clear()
        try:
            self.process = subprocess.Popen(
                self.spec.argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, close_fds=True, preexec_fn=_preexec(os.getpid(), self.spec.niceness),
            )
        except OSError as exc:
            raise ChildFailedToStart(f"Cannot start {self.name} ({self.spec.argv[0]}): {exc}", child=self.name) from exc
        self.started_at = time.monotonic()
        self.restart_at = None
        self._pump = threading.Thread(target=self._pass_output, args=(self.process,), name=f"output-{self.name}",
                                      daemon=True)
        self._pump.start()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def schedule_restart(self, now: float) -> float:
        delay = self.backoff.next_delay(now - self.started_at)
        self.restart_at = now + delay
        return delay

    def terminate(self) -> None:
        if self.process is not None and self.running():
            try:
                self.process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        """True once it has exited (within `timeout`)."""
        if self.process is None:
            return True
        try:
            self.process.wait(max(timeout, 0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill_group(self) -> None:
        """SIGKILL the child and whatever is left of its process group."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self._pump is not None:
            self._pump.join(timeout=1)

    def describe_failure(self) -> str:
        if self._pump is not None:
            self._pump.join(timeout=1)  # its last lines say why
        code = self.exit_code()
        lines = [line for line in self.tail if line.strip()][-8:]
        detail = ("; last output: " + " | ".join(lines)) if lines else ""
        return f"{self.name} exited with code {code}{detail}"

    def _pass_output(self, process: subprocess.Popen) -> None:
        """Each line of the child's stdout/stderr goes to our stderr, prefixed with the child's name."""
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if self.spec.on_line is not None and self.spec.on_line(self, line):
                continue
            self.tail.append(line)
            with _stderr_lock:
                sys.stderr.write(f"{self.name:>9} | {line}\n")
                sys.stderr.flush()
        process.stdout.close()
