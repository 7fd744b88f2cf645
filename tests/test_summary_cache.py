"""Summaries over every customer are computed once, even when several workers ask for them at the same moment."""
import os
import threading
import time
import uuid

import pytest
import redis

from crmadmin import reports
from crmadmin.extensions import cache

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def shared_cache(app):
    """The app's summary cache on Redis, as in production with several workers, then back to the test default."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379, and CI must not skip this test")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": f"test-{uuid.uuid4()}:"}
    cache.init_app(app, config=config)
    app.config["CRM_SUMMARY_SECONDS"] = 60
    try:
        yield
    finally:
        app.config["CRM_SUMMARY_SECONDS"] = 0
        with app.app_context():
            cache.clear()
        cache.init_app(app, config={"CACHE_TYPE": app.config["CACHE_TYPE"]})


def test_a_cold_summary_asked_by_eight_workers_at_once_is_computed_once(app, shared_cache):
    """Eight requests for a summary nobody has yet: does one compute it while the others wait for its value?"""
    calls, results, start = [], [], threading.Barrier(8)

    def compute():
        calls.append(1)
        time.sleep(0.5)  # a query over a million customers
        return {"customers": 1_000_000}

    def worker():
        with app.app_context():
            start.wait()
            results.append(reports.cached("dashboard:cold", compute))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1
    assert results == [{"customers": 1_000_000}] * 8


def test_a_worker_that_gives_up_waiting_computes_the_summary_itself(app, shared_cache, monkeypatch):
    """If the worker computing a summary is gone, does the next request still get an answer after its wait?"""
    monkeypatch.setattr(reports, "WAIT_SECONDS", 0.2)
    with app.app_context():
        cache.add("dashboard:orphan:computing", 1, timeout=60)  # a lock left by a worker that died
        assert reports.cached("dashboard:orphan", lambda: 42) == 42


def test_summaries_computed_together_do_not_all_go_stale_together():
    """Are the age limits of a dashboard's summaries spread between CRM_SUMMARY_SECONDS and half again?"""
    from crmadmin.reports import max_age

    keys = [f"dashboard:{part}:{owner}" for part in ("customers", "overdue", "complaints", "complaint_rate",
                                                        "campaigns") for owner in ("all", 2, 3, 4, 5, 6)]
    ages = [max_age(key, 120) for key in keys]
    assert all(120 <= age < 180 for age in ages)
    assert max(ages) - min(ages) > 30 and len({round(age) for age in ages}) > len(keys) // 2


def test_a_stale_summary_is_recomputed_off_the_thread_that_serves_requests(app):
    """Is a stale summary served at once while the worker's background thread, not the request's, recomputes it?"""
    from crmadmin import background

    app.config["CRM_SUMMARY_SECONDS"] = 60
    computed_on, release = [], threading.Event()

    def compute():
        computed_on.append(threading.current_thread())
        release.wait(timeout=10)  # a long query: the request must not be waiting for it
        return "fresh"

    try:
        with app.test_request_context("/admin/"):
            cache.set("dashboard:slow", ("stale", time.time() - 3600))
            assert reports.cached("dashboard:slow", compute) == "stale"
            assert cache.get("dashboard:slow")[0] == "stale"
            release.set()
        assert background.wait_idle()
        assert computed_on and computed_on[0] is not threading.current_thread()
        with app.app_context():
            assert cache.get("dashboard:slow")[0] == "fresh"
            assert cache.get("dashboard:slow:refreshing") is None  # the next stale visit may recompute again
    finally:
        release.set()
        app.config["CRM_SUMMARY_SECONDS"] = 0
        with app.app_context():
            cache.clear()
