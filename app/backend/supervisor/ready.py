"""Is a child healthy? Redis answers PING, the API answers /api/health/live, a worker answers a Celery ping."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from functools import cached_property
from typing import Any

import redis

log = logging.getLogger(__name__)

_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes via a proxy


def redis_answers(url: str, *, timeout: float = 0.5) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def api_answers(url: str, *, timeout: float = 1.0) -> bool:
    try:
        with _no_proxy.open(f"{url}/api/health/live", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def parse_ready_line(line: str) -> dict | None:
    """The `{"event":"ready","url":...,"token":...}` line of `chatstats serve`, else None."""
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("event") == "ready" and "url" in data else None


class CeleryPinger:
    """Celery control pings over the broker the workers use (a small app of its own, not the tasks').

    One ping asks every worker checked lately at once; its answers serve each worker's check for
    `max_age` seconds, so checking two workers costs one round trip, not two."""

    def __init__(self, redis_url: str, *, timeout: float = 0.3, max_age: float = 0.2) -> None:
        self.redis_url, self.timeout, self.max_age = redis_url, timeout, max_age
        self._asked: dict[str, float] = {}  # nodename -> when a check last asked about it
        self._answered: set[str] = set()
        self._pinged_at = float("-inf")
        self._lock = threading.Lock()  # checks of several workers run in threads of their own

    @cached_property
    def app(self) -> Any:  # a Celery app: celery is imported only when a worker is first checked
        from celery import Celery  # noqa: PLC0415 - celery: on the first check

        from backend.worker.celery_app import celery_url  # noqa: PLC0415 - celery: on the first check

        app = Celery("chatstats-supervisor", broker=celery_url(self.redis_url))
        app.conf.broker_connection_retry_on_startup = True
        app.conf.broker_connection_timeout = 1.0
        return app

    def answers(self, nodename: str) -> bool:
        with self._lock:
            now = time.monotonic()
            self._asked[nodename] = now
            if now - self._pinged_at > self.max_age:
                wanted = [name for name, asked in self._asked.items() if now - asked < 1.0]  # still waited for
                self._answered = self.ping(wanted)
                self._pinged_at = time.monotonic()
            return nodename in self._answered

    def ping(self, nodenames: list[str]) -> set[str]:
        """Which of `nodenames` answered within the timeout (it returns as soon as all have)."""
        try:
            replies = self.app.control.ping(destination=nodenames, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - a broker hiccup means "not yet", never a crash
            log.debug("celery ping failed: %s", exc)
            return set()
        return {name for reply in replies for name in reply} & set(nodenames)

    def close(self) -> None:
        if "app" in self.__dict__:
            self.app.close()
