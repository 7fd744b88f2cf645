"""Figures for the custom screens (tiers, churn warning, follow-ups, dashboard): selects, and a summary cache."""
import time
from typing import Callable, TypeVar

from flask import current_app

from ..background import after_response
from ..extensions import cache

T = TypeVar("T")
KEEP_SECONDS = 7 * 24 * 3600  # a summary is kept this long to be served while a fresh one is computed
LOCK_SECONDS = 600  # one recomputation per key at a time, across workers and hosts when the cache is Redis


def cached(key: str, compute: Callable[[], T]) -> T:
    """A summary over many rows, shared by everyone with this key, and never computed while someone waits for it
    once a first value exists: past CRM_SUMMARY_SECONDS the stored value is served once more and recomputed after
    the response has been sent (stale-while-revalidate), so at a million customers the page stays fast."""
    seconds = current_app.config.get("CRM_SUMMARY_SECONDS", 0)
    if seconds <= 0:
        return compute()
    stored = cache.get(key)
    if stored is None:
        value = compute()
        cache.set(key, (value, time.time()), timeout=KEEP_SECONDS)
        return value
    value, computed_at = stored
    if time.time() - computed_at > seconds and cache.add(f"{key}:refreshing", 1, timeout=LOCK_SECONDS):
        _recompute_after_response(key, compute)
    return value


def _recompute_after_response(key: str, compute: Callable[[], T]) -> None:
    def recompute() -> None:
        try:
            cache.set(key, (compute(), time.time()), timeout=KEEP_SECONDS)
        finally:
            cache.delete(f"{key}:refreshing")

    after_response(recompute)
