"""The suite's guard on request time (issue 29: no request takes more than a few seconds once long work runs as
jobs). Test code only: the test app's WSGI callable is wrapped, the product is not."""
import os
import threading
import time

DEFAULT_LIMIT = 10.0  # seconds: room for a loaded two-core CI machine; a real request takes well under one


class RequestTimer:
    """Wraps a WSGI app: each request's wall time until the app returned its response, as (seconds, method, path).
    A streamed body (a file download) is sent afterwards and not counted: its view's work is."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self._lock = threading.Lock()
        self._timings: list[tuple[float, str, str]] = []

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            with self._lock:
                self._timings.append((time.perf_counter() - started, environ.get("REQUEST_METHOD", ""),
                                      environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"]
                                                                      if environ.get("QUERY_STRING") else "")))

    def take(self) -> list[tuple[float, str, str]]:
        """The timings since the last take, and forget them."""
        with self._lock:
            taken, self._timings = self._timings, []
        return taken


def limit(config=None) -> float:
    """CRM_TEST_SLOW_REQUEST_SECONDS, else pytest.ini's slow_request_seconds, else DEFAULT_LIMIT."""
    raw = os.environ.get("CRM_TEST_SLOW_REQUEST_SECONDS") or (config.getini("slow_request_seconds") if config else "")
    return float(raw) if raw else DEFAULT_LIMIT


def too_slow(timings, seconds: float, shown: int = 5) -> str | None:
    """None when every request took at most `seconds`; else a message listing the slowest of those over it."""
    over = sorted((t for t in timings if t[0] > seconds), reverse=True)
    if not over:
        return None
    lines = [f"  {spent:.1f} s  {method} {path}" for spent, method, path in over[:shown]]
    more = f"\n  ... and {len(over) - shown} more" if len(over) > shown else ""
    return (f"{len(over)} request(s) took more than {seconds:g} s (long work belongs in a job, docs/JOBS.md):\n"
            + "\n".join(lines) + more)
