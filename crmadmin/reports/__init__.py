"""Figures for the custom screens (tiers, churn warning, follow-ups, dashboard): selects, and a summary cache."""
import time
import zlib
from typing import Callable, TypeVar

from flask import current_app

from ..background import in_background
from ..extensions import cache

T = TypeVar("T")
KEEP_SECONDS = 7 * 24 * 3600  # a summary is kept this long to be served while a fresh one is computed
LOCK_SECONDS = 600  # one recomputation per key at a time, across workers and hosts when the cache is Redis
WAIT_SECONDS = 30  # how long a request waits for another worker's first computation before doing its own
POLL_SECONDS = 0.05


def cached(key: str, compute: Callable[[], T]) -> T:
    """A summary over many rows, shared by everyone with this key, and never computed while someone waits for it
    once a first value exists: past CRM_SUMMARY_SECONDS the stored value is served once more and recomputed on
    the worker's background thread (stale-while-revalidate), so at a million customers the page stays fast."""
    seconds = current_app.config.get("CRM_SUMMARY_SECONDS", 0)
    if seconds <= 0:
        return compute()
    stored = cache.get(key)
    if stored is None:
        return _compute_once(key, compute)
    value, computed_at = stored
    if time.time() - computed_at > max_age(key, seconds) and cache.add(f"{key}:refreshing", 1, timeout=LOCK_SECONDS):
        _recompute_in_background(key, compute)
    return value


def max_age(key: str, seconds: float) -> float:
    """How old `key`'s summary may get: CRM_SUMMARY_SECONDS plus up to half again, spread evenly over the keys.
    Summaries computed together (a dashboard has six per viewer) would otherwise go stale together, and their
    recomputations, up to a second or two each at a million customers, would hold several workers at once."""
    return seconds * (1 + zlib.crc32(key.encode()) / 2 ** 33)


def _compute_once(key: str, compute: Callable[[], T]) -> T:
    """A summary nobody has yet: one worker computes it, the others wait for that value instead of computing it too
    (a cold start after a deploy would otherwise run the same minute-long query once per worker)."""
    lock = f"{key}:computing"
    deadline = time.monotonic() + WAIT_SECONDS
    while not cache.add(lock, 1, timeout=LOCK_SECONDS):
        time.sleep(POLL_SECONDS)
        stored = cache.get(key)
        if stored is not None:
            return stored[0]
        if time.monotonic() > deadline:  # the other worker died or is very slow: do not wait for ever
            return compute()
    try:
        stored = cache.get(key)  # computed and stored between our look and our lock
        if stored is not None:
            return stored[0]
        value = compute()
        cache.set(key, (value, time.time()), timeout=KEEP_SECONDS)
        return value
    finally:
        cache.delete(lock)


def _recompute_in_background(key: str, compute: Callable[[], T]) -> None:
    def recompute() -> None:
        try:
            cache.set(key, (compute(), time.time()), timeout=KEEP_SECONDS)
        finally:
            cache.delete(f"{key}:refreshing")

    in_background(recompute)
