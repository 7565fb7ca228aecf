"""Per-provider limits on LLM calls: a concurrency semaphore and a requests-per-minute token bucket.

With CHATSTATS_REDIS_URL set the limits are shared by every process through Redis (Lua scripts, Redis's
own clock); otherwise, or while Redis cannot be reached, they hold within this process.

- Concurrency: a sorted set of leases scored by expiry. A holder that crashes cannot block the slot for
  longer than its lease (`lease_s`); long holders (streams) `refresh()` their lease.
- Rate: a token bucket refilled at the current requests-per-minute, holding `BURST_S` seconds of tokens.
- Adaptive (AIMD): a 429 from the provider multiplies both limits by `DECREASE_FACTOR` (at most once per
  `DECREASE_HOLDOFF_S`, so one burst of 429s counts once); each success adds `1 / concurrency` slots and
  `RPM_INCREASE_FRACTION` of the configured rate, up to the configured maxima.

A call costs two round trips to Redis: one script takes a slot and a rate token, another releases the slot
(and, after a success, raises the limits).

Configured maxima come from settings when present (`llm_max_concurrency`, `llm_requests_per_minute`,
`llm_provider_limits`), else from the defaults below.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import redis

from backend.config import get_settings
from backend.llm.errors import LLMTransientError

log = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_REQUESTS_PER_MINUTE = 600  # 0 = no rate limit
# Providers that are not remote services get their own defaults (the offline analyzer runs on local CPU).
# Local providers run on this machine: no rate limit, concurrency bounded by the CPU work they do.
PROVIDER_DEFAULTS: dict[str, tuple[int, int]] = {"chatstats": (16, 0), "chatstats-embed": (16, 0)}

DECREASE_FACTOR = 0.5
DECREASE_HOLDOFF_S = 2.0
RPM_INCREASE_FRACTION = 0.02
BURST_S = 6.0  # the bucket holds this many seconds of requests
DEFAULT_LEASE_S = 120.0
DEFAULT_ACQUIRE_TIMEOUT_S = 300.0
POLL_MIN_S = 0.01
POLL_MAX_S = 0.2
KEY_PREFIX = "chatstats:llm"


@dataclass(frozen=True)
class ProviderLimit:
    max_concurrency: int
    requests_per_minute: int  # 0 = unlimited


def configured_limit(provider: str) -> ProviderLimit:
    """The maxima for `provider`: settings.llm_provider_limits[provider], else the global settings/defaults."""
    settings = get_settings()
    concurrency: int
    rpm: int
    concurrency, rpm = PROVIDER_DEFAULTS.get(provider, (
        getattr(settings, "llm_max_concurrency", DEFAULT_MAX_CONCURRENCY),
        getattr(settings, "llm_requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE),
    ))
    override: dict[str, Any] = (getattr(settings, "llm_provider_limits", None) or {}).get(provider) or {}
    return ProviderLimit(
        max_concurrency=max(1, int(override.get("max_concurrency", concurrency))),
        requests_per_minute=max(0, int(override.get("requests_per_minute", rpm))),
    )


@dataclass(frozen=True)
class LimitState:
    concurrency: float
    requests_per_minute: float
    in_use: int


class LimitStore(Protocol):
    def try_acquire(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit) -> bool: ...
    # A slot and, when one is free, a rate token in one step: None (no slot), else ms to wait for the token.
    def acquire_and_take(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit) -> int | None: ...
    def release_after(self, provider: str, lease_id: str, limit: ProviderLimit, *, succeeded: bool) -> None: ...
    def refresh(self, provider: str, lease_id: str, lease_ms: int) -> None: ...
    def release(self, provider: str, lease_id: str) -> None: ...
    def take_token(self, provider: str, limit: ProviderLimit) -> int: ...  # ms to wait; 0 = taken
    def on_rate_limited(self, provider: str, limit: ProviderLimit) -> None: ...
    def on_success(self, provider: str, limit: ProviderLimit) -> None: ...
    def state(self, provider: str, limit: ProviderLimit) -> LimitState: ...


# ---- Redis ------------------------------------------------------------------------------------------

_LUA_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
_LUA_STATE = (
    "local c = redis.call('HGET', KEYS[1], 'conc') local conc = c and tonumber(c) or tonumber(ARGV[1])\n"
    "if conc > tonumber(ARGV[1]) then conc = tonumber(ARGV[1]) end\n"
    "local r = redis.call('HGET', KEYS[1], 'rpm') local rpm = r and tonumber(r) or tonumber(ARGV[2])\n"
    "if rpm > tonumber(ARGV[2]) then rpm = tonumber(ARGV[2]) end\n"
)

# KEYS: state, sem. ARGV: max_conc, max_rpm, lease_id, lease_ms
_ACQUIRE = _LUA_NOW + _LUA_STATE + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) < math.floor(conc) then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) * 2)
  return 1
end
return 0
"""
# KEYS: sem. ARGV: lease_id, lease_ms
_REFRESH = _LUA_NOW + """
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""
# KEYS: state. ARGV: max_conc, max_rpm, burst_s. Returns ms to wait (0 = token taken).
_LUA_TAKE = """
if tonumber(ARGV[2]) <= 0 then return 0 end
local rate = rpm / 60000.0
local cap = math.max(1, rpm * tonumber(ARGV[BURST]) / 60.0)
local tk = redis.call('HGET', KEYS[1], 'tokens') local tokens = tk and tonumber(tk) or cap
local ts = redis.call('HGET', KEYS[1], 'ts') local last = ts and tonumber(ts) or now
tokens = math.min(cap, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
return wait
"""
_TAKE = _LUA_NOW + _LUA_STATE + _LUA_TAKE.replace("ARGV[BURST]", "ARGV[3]")
# One round trip per call to take a slot and a token. KEYS: state, sem. ARGV: max_conc, max_rpm, lease_id,
# lease_ms, burst_s. Returns -1 (no free slot), else ms to wait for a rate token (0 = taken), the slot held.
_ACQUIRE_TAKE = _LUA_NOW + _LUA_STATE + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= math.floor(conc) then return -1 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) * 2)
""" + _LUA_TAKE.replace("ARGV[BURST]", "ARGV[5]")
# KEYS: state. ARGV: max_conc, max_rpm, factor, holdoff_ms
_DECREASE = _LUA_NOW + _LUA_STATE + """
local d = redis.call('HGET', KEYS[1], 'decreased_at')
if d and now - tonumber(d) < tonumber(ARGV[4]) then return 0 end
conc = math.max(1, math.floor(conc * tonumber(ARGV[3])))
rpm = math.max(1, rpm * tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'conc', tostring(conc), 'rpm', tostring(rpm), 'decreased_at', tostring(now))
return 1
"""
# KEYS: state. ARGV: max_conc, max_rpm, rpm_fraction
_LUA_INCREASE = """
conc = math.min(tonumber(ARGV[1]), conc + 1.0 / conc)
rpm = math.min(tonumber(ARGV[2]), rpm + tonumber(ARGV[2]) * tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'conc', tostring(conc), 'rpm', tostring(rpm))
return 1
"""
_INCREASE = _LUA_STATE + _LUA_INCREASE
# Release a slot after a success and raise the limits, in one round trip. KEYS: state, sem.
# ARGV: max_conc, max_rpm, rpm_fraction, lease_id
_RELEASE_SUCCEEDED = _LUA_STATE + "redis.call('ZREM', KEYS[2], ARGV[4])\n" + _LUA_INCREASE


class RedisLimitStore:
    """Limits shared by every process that talks to the same Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._acquire = client.register_script(_ACQUIRE)
        self._refresh = client.register_script(_REFRESH)
        self._take = client.register_script(_TAKE)
        self._decrease = client.register_script(_DECREASE)
        self._increase = client.register_script(_INCREASE)
        self._acquire_take = client.register_script(_ACQUIRE_TAKE)
        self._release_succeeded = client.register_script(_RELEASE_SUCCEEDED)

    @staticmethod
    def _keys(provider: str) -> tuple[str, str]:
        return f"{KEY_PREFIX}:state:{provider}", f"{KEY_PREFIX}:sem:{provider}"

    def try_acquire(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit) -> bool:
        return bool(self._acquire(keys=self._keys(provider),
                                  args=[limit.max_concurrency, limit.requests_per_minute, lease_id, lease_ms]))

    def acquire_and_take(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit) -> int | None:
        wait = int(self._acquire_take(keys=self._keys(provider), args=[
            limit.max_concurrency, limit.requests_per_minute, lease_id, lease_ms, BURST_S]))
        return None if wait < 0 else wait

    def release_after(self, provider: str, lease_id: str, limit: ProviderLimit, *, succeeded: bool) -> None:
        if not succeeded:
            self.release(provider, lease_id)
            return
        self._release_succeeded(keys=self._keys(provider), args=[
            limit.max_concurrency, limit.requests_per_minute, RPM_INCREASE_FRACTION, lease_id])

    def refresh(self, provider: str, lease_id: str, lease_ms: int) -> None:
        self._refresh(keys=[self._keys(provider)[1]], args=[lease_id, lease_ms])

    def release(self, provider: str, lease_id: str) -> None:
        self.client.zrem(self._keys(provider)[1], lease_id)

    def take_token(self, provider: str, limit: ProviderLimit) -> int:
        return int(self._take(keys=[self._keys(provider)[0]],
                              args=[limit.max_concurrency, limit.requests_per_minute, BURST_S]))

    def on_rate_limited(self, provider: str, limit: ProviderLimit) -> None:
        self._decrease(keys=[self._keys(provider)[0]], args=[limit.max_concurrency, limit.requests_per_minute,
                                                              DECREASE_FACTOR, int(DECREASE_HOLDOFF_S * 1000)])

    def on_success(self, provider: str, limit: ProviderLimit) -> None:
        self._increase(keys=[self._keys(provider)[0]],
                       args=[limit.max_concurrency, limit.requests_per_minute, RPM_INCREASE_FRACTION])

    def state(self, provider: str, limit: ProviderLimit) -> LimitState:
        state_key, sem_key = self._keys(provider)
        conc, rpm = self.client.hmget(state_key, ["conc", "rpm"])  # type: ignore[misc]  # redis-py types its sync client's replies as sync-or-async
        now_ms = int(time.time() * 1000)
        return LimitState(
            concurrency=min(float(conc), limit.max_concurrency) if conc else float(limit.max_concurrency),
            requests_per_minute=min(float(rpm), limit.requests_per_minute) if rpm else float(limit.requests_per_minute),
            in_use=int(self.client.zcount(sem_key, now_ms, "+inf")),  # type: ignore[arg-type]  # redis-py types its sync client's replies as sync-or-async
        )


# ---- in-process ---------------------------------------------------------------------------------------

@dataclass
class _LocalProvider:
    concurrency: float | None = None
    rpm: float | None = None
    tokens: float | None = None
    ts: float = 0.0
    decreased_at: float = float("-inf")
    leases: dict[str, float] | None = None


class LocalLimitStore:
    """The same limits within one process (no Redis configured, or Redis unreachable)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._providers: dict[str, _LocalProvider] = {}

    def _get(self, provider: str, limit: ProviderLimit) -> _LocalProvider:
        p = self._providers.setdefault(provider, _LocalProvider(leases={}))
        p.concurrency = min(limit.max_concurrency, p.concurrency if p.concurrency is not None else 1e9)
        p.rpm = min(limit.requests_per_minute, p.rpm if p.rpm is not None else 1e12)
        return p

    def try_acquire(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit) -> bool:
        now = time.monotonic()
        with self._lock:
            p = self._get(provider, limit)
            assert p.leases is not None
            for held, expires in list(p.leases.items()):
                if expires <= now:
                    del p.leases[held]
            if len(p.leases) < int(p.concurrency or 1):
                p.leases[lease_id] = now + lease_ms / 1000
                return True
            return False

    def acquire_and_take(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit) -> int | None:
        if not self.try_acquire(provider, lease_id, lease_ms, limit):
            return None
        return self.take_token(provider, limit)

    def release_after(self, provider: str, lease_id: str, limit: ProviderLimit, *, succeeded: bool) -> None:
        self.release(provider, lease_id)
        if succeeded:
            self.on_success(provider, limit)

    def refresh(self, provider: str, lease_id: str, lease_ms: int) -> None:
        with self._lock:
            leases = self._providers.get(provider, _LocalProvider()).leases or {}
            if lease_id in leases:
                leases[lease_id] = time.monotonic() + lease_ms / 1000

    def release(self, provider: str, lease_id: str) -> None:
        with self._lock:
            (self._providers.get(provider, _LocalProvider()).leases or {}).pop(lease_id, None)

    def take_token(self, provider: str, limit: ProviderLimit) -> int:
        if limit.requests_per_minute <= 0:
            return 0
        now = time.monotonic()
        with self._lock:
            p = self._get(provider, limit)
            rate = (p.rpm or 1) / 60.0
            cap = max(1.0, (p.rpm or 1) * BURST_S / 60.0)
            tokens = cap if p.tokens is None else min(cap, p.tokens + max(0.0, now - p.ts) * rate)
            p.ts = now
            if tokens >= 1:
                p.tokens = tokens - 1
                return 0
            p.tokens = tokens
            return int((1 - tokens) / rate * 1000) + 1

    def on_rate_limited(self, provider: str, limit: ProviderLimit) -> None:
        now = time.monotonic()
        with self._lock:
            p = self._get(provider, limit)
            if now - p.decreased_at < DECREASE_HOLDOFF_S:
                return
            p.concurrency = max(1.0, float(int((p.concurrency or 1) * DECREASE_FACTOR)))
            p.rpm = max(1.0, (p.rpm or 1) * DECREASE_FACTOR)
            p.decreased_at = now

    def on_success(self, provider: str, limit: ProviderLimit) -> None:
        with self._lock:
            p = self._get(provider, limit)
            conc = p.concurrency or 1.0
            p.concurrency = min(float(limit.max_concurrency), conc + 1.0 / conc)
            p.rpm = min(float(limit.requests_per_minute),
                        (p.rpm or 0.0) + limit.requests_per_minute * RPM_INCREASE_FRACTION)

    def state(self, provider: str, limit: ProviderLimit) -> LimitState:
        now = time.monotonic()
        with self._lock:
            p = self._get(provider, limit)
            in_use = sum(1 for expires in (p.leases or {}).values() if expires > now)
            return LimitState(float(p.concurrency or 0), float(p.rpm or 0), in_use)


# ---- the limiter ----------------------------------------------------------------------------------------

class Lease:
    """A held concurrency slot. `refresh()` keeps a long holder's lease from expiring."""

    def __init__(self, limiter: Limiter, store: LimitStore, provider: str, lease_id: str, lease_ms: int) -> None:
        self.limiter, self.store, self.provider, self.lease_id, self.lease_ms = (
            limiter, store, provider, lease_id, lease_ms)
        self._refreshed = time.monotonic()
        self.succeeded = False

    def mark_succeeded(self) -> None:
        """The request went through: releasing the slot also raises the limits (one round trip for both)."""
        self.succeeded = True

    def refresh(self, *, force: bool = False) -> None:
        """Extend the lease (cheap to call often: it talks to the store at most every third of a lease)."""
        if force or time.monotonic() - self._refreshed > self.lease_ms / 3000:
            self.limiter._guard(lambda s: s.refresh(self.provider, self.lease_id, self.lease_ms), self.store)
            self._refreshed = time.monotonic()


class Limiter:
    """Acquire a slot (and a rate token) before each provider request; report 429s and successes."""

    def __init__(self, store: LimitStore, *, fallback: LimitStore | None = None) -> None:
        self.store = store
        self.fallback = fallback or (store if isinstance(store, LocalLimitStore) else _process_local_store())
        self._warned = False

    def _with_store(self, fn: Any, store: LimitStore | None = None) -> tuple[Any, LimitStore]:
        """Run `fn(store)`; if Redis fails, run it against the in-process store instead (and say so once)."""
        store = store or self.store
        try:
            return fn(store), store
        except redis.exceptions.RedisError as exc:
            if store is self.fallback:
                raise
            if not self._warned:
                log.warning("LLM limits: Redis unavailable (%s); limiting within this process only", exc)
                self._warned = True
            return fn(self.fallback), self.fallback

    def _guard(self, fn: Any, store: LimitStore | None = None) -> Any:
        return self._with_store(fn, store)[0]

    @contextmanager
    def slot(
        self, provider: str, *, lease_s: float = DEFAULT_LEASE_S, timeout_s: float = DEFAULT_ACQUIRE_TIMEOUT_S
    ) -> Iterator[Lease]:
        """Wait for a concurrency slot, then for a rate token; raises LLMTransientError after `timeout_s`."""
        limit = configured_limit(provider)
        lease_id = uuid.uuid4().hex
        lease_ms = max(1000, int(lease_s * 1000))
        deadline = time.monotonic() + timeout_s
        store, token_wait_ms = self._wait_for_slot(provider, lease_id, lease_ms, limit, deadline)
        lease = Lease(self, store, provider, lease_id, lease_ms)
        try:
            if token_wait_ms > 0:
                self._wait_for_token(provider, limit, deadline, store, first_wait_ms=token_wait_ms)
            yield lease
        finally:
            try:
                self._guard(lambda s: s.release_after(provider, lease_id, limit, succeeded=lease.succeeded), store)
            except redis.exceptions.RedisError:
                log.warning("LLM limits: could not release a lease of %s; it expires by itself", provider)

    def _wait_for_slot(self, provider: str, lease_id: str, lease_ms: int, limit: ProviderLimit,
                       deadline: float) -> tuple[LimitStore, int]:
        """(store, ms to wait for the rate token) once a slot is held: slot and token come in one round trip."""
        delay = POLL_MIN_S
        while True:
            wait_ms, store = self._with_store(lambda s: s.acquire_and_take(provider, lease_id, lease_ms, limit))
            if wait_ms is not None:
                return store, wait_ms
            if time.monotonic() + delay > deadline:
                raise LLMTransientError(
                    f"No free slot for {provider} within the wait limit; the provider is busy, try again later.",
                    provider=provider)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(POLL_MAX_S, delay * 2)

    def _wait_for_token(self, provider: str, limit: ProviderLimit, deadline: float, store: LimitStore, *,
                        first_wait_ms: int | None = None) -> None:
        wait_ms = first_wait_ms if first_wait_ms is not None else self._guard(lambda s: s.take_token(provider, limit),
                                                                              store)
        while wait_ms > 0:
            wait_s = wait_ms / 1000
            if time.monotonic() + wait_s > deadline:
                raise LLMTransientError(f"Request rate limit for {provider} reached; try again later.",
                                        provider=provider, retry_after_s=wait_s)
            time.sleep(wait_s * (1 + random.random() * 0.1))
            wait_ms = self._guard(lambda s: s.take_token(provider, limit), store)

    def rate_limited(self, provider: str) -> None:
        """The provider answered 429: lower its limits (multiplicative decrease)."""
        limit = configured_limit(provider)
        self._guard(lambda s: s.on_rate_limited(provider, limit))
        log.info("LLM limits: %s rate-limited us; now %s", provider, self.state(provider))

    def succeeded(self, provider: str) -> None:
        """A request went through: raise the limits a little (additive increase)."""
        limit = configured_limit(provider)
        self._guard(lambda s: s.on_success(provider, limit))

    def state(self, provider: str) -> LimitState:
        limit = configured_limit(provider)
        return self._guard(lambda s: s.state(provider, limit))


@lru_cache(maxsize=1)
def _process_local_store() -> LocalLimitStore:
    return LocalLimitStore()


@lru_cache(maxsize=4)
def _limiter_for(redis_url: str) -> Limiter:
    if not redis_url:
        return Limiter(_process_local_store())
    from backend.events.bus import redis_client  # noqa: PLC0415 - only when Redis is configured

    return Limiter(RedisLimitStore(redis_client(redis_url)))


def get_limiter() -> Limiter:
    """The limiter for this process: shared through CHATSTATS_REDIS_URL when set, in-process otherwise."""
    return _limiter_for(get_settings().redis_url)


def reset_limits() -> None:
    """Forget this process's limiters and in-process limit state (tests; after changing settings)."""
    _limiter_for.cache_clear()
    _process_local_store.cache_clear()
