"""Figures for the custom screens (tiers, churn warning, follow-ups, dashboard): selects, and a summary cache.

A stale summary is recomputed by the job queue's worker (the task `summary`, crmadmin/jobs/summaries.py), which the
screens reach through app.extensions["crm_job_tasks"]: nothing here imports jobs or admin.
"""
import logging
import time
import zlib
from typing import Callable, TypeVar

from flask import current_app

from ..extensions import cache, db

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP_SECONDS = 7 * 24 * 3600  # a summary is kept this long to be served while a fresh one is computed
LOCK_SECONDS = 600  # one recomputation per key queued or running at a time, across web processes and hosts
WAIT_SECONDS = 30  # how long a request waits for another worker's first computation before doing its own
POLL_SECONDS = 0.05


def cached(key: str, compute: Callable[..., T], *args) -> T:
    """A summary over many rows, `compute(db.session, *args)`, shared by everyone with this key, and never computed
    while someone waits for it once a first value exists: past CRM_SUMMARY_SECONDS the stored value is served once
    more and a recomputation is queued for the job worker (stale-while-revalidate), one per key however many pages
    ask, so at a million customers the page stays fast. `compute` is a module-level function and `args` plain values:
    the queue carries them to a worker on any host."""
    if "<" in compute.__qualname__:  # a lambda or a nested function cannot travel to a worker
        raise TypeError(f"cached({key!r}): compute must be a module-level function, not {compute.__qualname__}")
    seconds = current_app.config.get("CRM_SUMMARY_SECONDS", 0)
    if seconds <= 0:
        return compute(db.session, *args)
    stored = cache.get(key)
    if stored is None:
        return _compute_once(key, lambda: compute(db.session, *args))
    value, computed_at = stored
    if time.time() - computed_at > max_age(key, seconds) and cache.add(f"{key}:refreshing", 1, timeout=LOCK_SECONDS):
        _recompute_on_queue(key, compute, args)
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


def _recompute_on_queue(key: str, compute: Callable, args: tuple) -> None:
    """Queue the summary's recomputation; with the queue unreachable (Redis down) the stored value is served on, a
    warning logged, and the queue asked again after CRM_CACHE_RETRY_SECONDS rather than at every page."""
    try:
        current_app.extensions["crm_job_tasks"]["summary"](key, compute, args)
    except Exception as error:
        log.warning("Summary %s is served stale: the job queue could not be reached (%s: %s)", key,
                    type(error).__name__, error)
        cache.set(f"{key}:refreshing", 1, timeout=max(1, int(current_app.config.get("CRM_CACHE_RETRY_SECONDS", 5))))


def recompute(key: str, compute: Callable, args: tuple) -> None:
    """The worker's side: compute the summary afresh, store it for everyone, and let the next stale page queue
    another."""
    try:
        cache.set(key, (compute(db.session, *args), time.time()), timeout=KEEP_SECONDS)
    finally:
        cache.delete(f"{key}:refreshing")
