"""Figures for the custom screens (tiers, churn warning, follow-ups, dashboard): selects, and a summary cache."""
from typing import Callable, TypeVar

from flask import current_app

from ..extensions import cache

T = TypeVar("T")


def cached(key: str, compute: Callable[[], T]) -> T:
    """A summary over many rows, computed at most once per CRM_SUMMARY_SECONDS for everyone with this key."""
    seconds = current_app.config.get("CRM_SUMMARY_SECONDS", 0)
    if seconds <= 0:
        return compute()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=seconds)
    return value
