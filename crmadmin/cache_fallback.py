"""The summary cache that keeps the panel up while Redis is away: every use computes without it instead of failing.

Flask-Caching raises Redis's errors to the caller, so a Redis restart made the dashboard and the tier screens answer
500. Here the backend Flask-Caching builds is wrapped once, where it is built, so every use (`reports.cached`, its
locks, `cache.clear()` after new rules, anything added later) is covered: while Redis does not answer, the cache acts
as Flask-Caching's NullCache (nothing found, every lock granted), one warning is logged per outage and process, and
Redis is asked again every few seconds, so the cache is used again soon after it is back. Nothing of the package is
imported here (extensions.py imports this)."""
import logging
import threading
import time
from typing import Any

from flask import Flask
from flask_caching import Cache
from flask_caching.backends.nullcache import NullCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # while Redis is down, how long requests go without asking it (a timeout costs each a second)


class FallbackCache(Cache):
    """Flask-Caching's Cache, whose backend computes without Redis rather than fail while Redis is unreachable."""

    def _set_cache(self, app: Flask, config: dict[str, Any]) -> None:
        super()._set_cache(app, config)
        backend = app.extensions["cache"][self]
        app.extensions["cache"][self] = Guarded(backend, config.get("CRM_CACHE_RETRY_SECONDS", RETRY_SECONDS))


class Guarded:
    """A cache backend whose failures (Redis refused, timed out, closed the connection) read as NullCache answers."""

    def __init__(self, backend, retry_seconds: float):
        self.backend = backend
        self.retry_seconds = retry_seconds
        self._null = NullCache()
        self._lock = threading.Lock()
        self._down_until: float | None = None  # monotonic time of the next try, while down
        self._clear_missed = False  # a clear() that could not reach Redis is done when it answers again

    def __getattr__(self, name: str):
        found = getattr(self.backend, name)
        if not callable(found):
            return found

        def guarded(*args, **kwargs):
            down_until = self._down_until
            if down_until is not None and time.monotonic() < down_until:
                return self._fallback(name, *args, **kwargs)
            try:
                if self._clear_missed and name != "clear":
                    self.backend.clear()
                    self._clear_missed = False
                answer = found(*args, **kwargs)
            except (RedisError, OSError) as error:
                self._went_down(error)
                return self._fallback(name, *args, **kwargs)
            if down_until is not None:
                self._came_back()
            return answer

        return guarded

    def _fallback(self, name: str, *args, **kwargs):
        if name == "clear":
            self._clear_missed = True
        null = getattr(self._null, name, None)
        return null(*args, **kwargs) if callable(null) else None

    def _went_down(self, error: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = time.monotonic() + self.retry_seconds
        if first:
            log.warning("Summary cache unreachable (%s: %s): figures are computed without it until it answers again",
                        type(error).__name__, error)

    def _came_back(self) -> None:
        with self._lock:
            back = self._down_until is not None
            self._down_until = None
        if back:
            log.info("Summary cache reachable again: figures are cached again")
