"""The loop of `chatstats up`: start children in order, wait until all are healthy, restart the ones that
die (with backoff), and stop them all, in reverse order, when asked to or when the parent process dies."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import psutil

from backend.supervisor.children import Child
from backend.supervisor.exceptions import ChildFailedToStart
from backend.supervisor.specs import Supervised

log = logging.getLogger(__name__)

TICK_S = 0.1
PARENT_POLL_S = 0.5
PARENT_GONE_STOP_S = 3.0  # nobody waits for us once the shell is gone: exit within 5 s of its death


class ParentWatch:
    """Whether the process that launched us (the Electron shell) is still alive; pid reuse is caught by
    psutil (create time) and a dead but unreaped parent (zombie) counts as dead."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self._process: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self._process = None
        self._checked_at = 0.0
        self._alive = self._check()

    def _check(self) -> bool:
        if self._process is None:
            return False
        try:
            return self._process.is_running() and self._process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def alive(self) -> bool:
        now = time.monotonic()
        if self._alive and now - self._checked_at >= PARENT_POLL_S:
            self._checked_at = now
            self._alive = self._check()
        return self._alive


class Supervisor:
    def __init__(self, supervised: list[Supervised], env: dict[str, str], *, stop: threading.Event,
                 emit: Callable[[dict], None], parent: ParentWatch | None = None,
                 start_timeout: float | None = 60.0, stop_timeout: float = 10.0) -> None:
        self.supervised = supervised
        self.children = [Child(item.spec) for item in supervised]
        self._checks = {child.name: item.check for child, item in zip(self.children, supervised, strict=True)}
        self.env = env
        self.stop_event, self.emit, self.parent = stop, emit, parent
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.url: str | None = None

    def child(self, name: str) -> Child:
        return next(child for child in self.children if child.name == name)

    def should_stop(self) -> bool:
        if self.stop_event.is_set():
            return True
        if self.parent is not None and not self.parent.alive():
            log.warning("parent process %d is gone: stopping", self.parent.pid)
            self.stop_timeout = min(self.stop_timeout, PARENT_GONE_STOP_S)
            self.stop_event.set()
            return True
        return False

    def healthy(self, child: Child) -> bool:
        return child.running() and self._checks[child.name](child)

    def start(self) -> bool:
        """Start every child in order and wait until all are healthy: True, or False when asked to stop
        meanwhile. A child that cannot start raises ChildFailedToStart, after what started is stopped."""
        try:
            pending: list[Child] = []
            for child, item in zip(self.children, self.supervised, strict=True):
                if item.last:
                    if not self._wait_healthy(pending):
                        return False
                    pending = []
                if self.should_stop():
                    return False
                child.start(self.env)
                pending.append(child)
                if item.gate:
                    if not self._wait_healthy(pending):
                        return False
                    pending = []
            if not self._wait_healthy(pending):
                return False
        except BaseException:
            self.stop()
            raise
        self._keep_api_url()
        return True

    def _wait_healthy(self, children: list[Child]) -> bool:
        """Probe each child's health in a thread of its own (one slow check does not hold up the others)
        while this thread watches for deaths, the deadline and stop requests."""
        done = threading.Event()
        healthy: dict[str, threading.Event] = {child.name: threading.Event() for child in children}

        def probe(child: Child) -> None:
            while not done.is_set():
                if self.healthy(child):
                    log.info("%s is healthy", child.name)
                    healthy[child.name].set()
                    return
                done.wait(0.05)

        for child in children:
            threading.Thread(target=probe, args=(child,), name=f"probe-{child.name}", daemon=True).start()
        deadline = time.monotonic() + self.start_timeout if self.start_timeout is not None else math.inf
        try:
            while not all(event.is_set() for event in healthy.values()):
                if self.should_stop():
                    return False
                for child in children:
                    if not child.running():
                        raise ChildFailedToStart(f"{child.describe_failure()}. Nothing else was left running.",
                                                 child=child.name)
                if time.monotonic() > deadline:
                    names = ", ".join(name for name, event in healthy.items() if not event.is_set())
                    raise ChildFailedToStart(f"{names} did not become healthy within {self.start_timeout:.0f} s; "
                                             "see the log lines above (CHATSTATS_START_TIMEOUT_S sets the limit, "
                                             "0 for none).", child=names.split(",")[0])
                self.stop_event.wait(0.02)
        finally:
            done.set()
        return True

    def _keep_api_url(self) -> None:
        """Restarts reuse the first API's port, so the URL handed out stays valid."""
        api = next((child for child in self.children if child.name == "api"), None)
        if api is not None and api.ready_line is not None:
            self.url = api.ready_line["url"]
            self.env["CHATSTATS_API_PORT"] = self.url.rsplit(":", 1)[1]

    def watch(self) -> None:
        """Until asked to stop (signal, parent death): restart children that die, with backoff."""
        recovering: list[Child] = []
        while not self.should_stop():
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is None and not child.running():
                    child.kill_group()  # what it left behind (pool processes) goes with it
                    delay = child.schedule_restart(now)
                    log.warning("%s exited with code %s; restarting in %.1f s", child.name, child.exit_code(), delay)
                    if child in recovering:
                        recovering.remove(child)
                elif child.restart_at is not None and now >= child.restart_at:
                    child.start(self.env)
                    child.restarts += 1
                    recovering.append(child)
            for child in list(recovering):
                if child.running() and self.healthy(child):
                    recovering.remove(child)
                    log.info("%s is healthy again (restart %d)", child.name, child.restarts)
                    self.emit({"event": "restarted", "child": child.name})
            self.stop_event.wait(TICK_S)

    def stop(self) -> None:
        """SIGTERM children in reverse start order, within one shared deadline, then SIGKILL whatever is
        left of every child's process group. Children that others depend on (gates: redis) stop only
        after everything started later has exited; the rest stop together (celery's warm shutdowns take
        seconds each)."""
        deadline = time.monotonic() + self.stop_timeout
        tier: list[Child] = []
        for child, item in reversed(list(zip(self.children, self.supervised, strict=True))):
            if item.gate:
                self._stop_together(tier, deadline)
                self._stop_together([child], deadline)
                tier = []
            else:
                tier.append(child)
        self._stop_together(tier, deadline)
        for child in reversed(self.children):
            child.kill_group()

    def _stop_together(self, children: list[Child], deadline: float) -> None:
        for child in children:
            child.restart_at = None
            if child.running():
                log.info("stopping %s (pid %d)", child.name, child.pid)
                child.terminate()
        for child in children:
            if not child.wait(deadline - time.monotonic()):
                log.warning("%s did not stop within %.0f s: killing it", child.name, self.stop_timeout)
