"""Summaries over every customer are computed once, even when several workers ask for them at the same moment, and
recomputed by the job worker when stale, one recomputation per summary however many pages ask."""
import os
import signal
import threading
import time
import uuid

import pytest
import redis
from sqlalchemy import func, select

from crmadmin import create_app, reports
from crmadmin.extensions import cache
from crmadmin.jobs import queue
from crmadmin.jobs.queue import consumer as make_consumer
from crmadmin.models import Customer
from tests import factories
from tests.conftest import sign_in
from tests.jobs_app import wait_for
from tests.pages import figures_on
from tests.test_outages import RedisServer

REDIS_URL = "redis://127.0.0.1:6379/15"
CALLS: list[str] = []  # the thread of each computation by the summaries below (module-level: the queue carries them)


def slow_million(session) -> dict:
    CALLS.append(threading.current_thread().name)
    time.sleep(0.5)  # a query over a million customers
    return {"customers": 1_000_000}


def forty_two(session) -> int:
    return 42


def customers(session) -> int:
    CALLS.append(threading.current_thread().name)
    return session.scalar(select(func.count()).select_from(Customer))


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
    CALLS.clear()
    results, start = [], threading.Barrier(8)

    def worker():
        with app.app_context():
            start.wait()
            results.append(reports.cached("dashboard:cold", slow_million))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(CALLS) == 1
    assert results == [{"customers": 1_000_000}] * 8


def test_a_worker_that_gives_up_waiting_computes_the_summary_itself(app, shared_cache, monkeypatch):
    """If the worker computing a summary is gone, does the next request still get an answer after its wait?"""
    monkeypatch.setattr(reports, "WAIT_SECONDS", 0.2)
    with app.app_context():
        cache.add("dashboard:orphan:computing", 1, timeout=60)  # a lock left by a worker that died
        assert reports.cached("dashboard:orphan", forty_two) == 42


def test_summaries_computed_together_do_not_all_go_stale_together():
    """Are the age limits of a dashboard's summaries spread between CRM_SUMMARY_SECONDS and half again?"""
    from crmadmin.reports import max_age

    keys = [f"dashboard:{part}:{owner}" for part in ("customers", "overdue", "complaints", "complaint_rate",
                                                        "campaigns") for owner in ("all", 2, 3, 4, 5, 6)]
    ages = [max_age(key, 120) for key in keys]
    assert all(120 <= age < 180 for age in ages)
    assert max(ages) - min(ages) > 30 and len({round(age) for age in ages}) > len(keys) // 2


def test_a_summary_is_a_module_level_function_so_the_queue_can_carry_it(app):
    """Is a lambda refused at once (it could never reach a worker), not when it goes stale in production?"""
    with app.app_context(), pytest.raises(TypeError, match="module-level"):
        reports.cached("dashboard:lambda", lambda session: 1)


@pytest.fixture
def stale_summaries(app):
    """Summaries kept 60 s, and the suite's queue empty; afterwards both back as they were."""
    huey = queue(app)
    huey.flush()
    app.config["CRM_SUMMARY_SECONDS"] = 60
    CALLS.clear()
    try:
        yield huey
    finally:
        app.config["CRM_SUMMARY_SECONDS"] = 0
        huey.flush()
        with app.app_context():
            cache.clear()


def test_a_stale_summary_is_recomputed_on_the_queue_once_however_many_pages_ask(app, stale_summaries):
    """Past its age, is a summary served at once to every page, while one recomputation (not one per page) waits on
    the job queue, and a real worker, not a request, computes it for everyone?"""
    huey = stale_summaries
    with app.app_context():
        factories.customer()
        cache.set("dashboard:slow", ("stale", time.time() - 3600))
    for _ in range(5):
        with app.test_request_context("/admin/"):
            assert reports.cached("dashboard:slow", customers) == "stale"
    assert huey.pending_count() == 1 and CALLS == []  # queued once; nothing computed in a request
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    worker = make_consumer(app, workers=1, periodic=False)
    worker.start()
    for s, handler in handlers.items():  # the consumer's handlers are for a process of its own, not pytest
        signal.signal(s, handler)
    try:
        with app.app_context():
            wait_for(lambda: cache.get("dashboard:slow")[0] == 1)
            wait_for(lambda: cache.get("dashboard:slow:refreshing") is None)  # the next stale page may queue again
    finally:
        worker.stop(graceful=True)
    assert len(CALLS) == 1 and CALLS[0] != threading.current_thread().name


def test_with_the_queue_down_a_stale_summary_is_still_served_and_a_warning_logged(app, database_url, login_as,
                                                                                   caplog):
    """The queue's Redis stops: does the dashboard still answer at once with the stored figure (no 500), log a
    warning once, not at every page, and queue the recomputation again once Redis is back?"""
    server = RedisServer()
    server.start()
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, CRM_JOBS_URL=server.url,
                       CRM_JOBS_NAME=f"down{os.getpid()}", CRM_SUMMARY_SECONDS=60, CRM_CACHE_RETRY_SECONDS=60)
    try:
        with other.app_context():
            supervisor = factories.user("supervisor")
            factories.customer()
            username = supervisor.username
        client = other.test_client()
        sign_in(client, username)
        assert figures_on(client, "/admin/")["customers:customers"][0].strip() == "1"
        with other.app_context():
            value, _at = cache.get("dashboard:customers:all")
            cache.set("dashboard:customers:all", (value, time.time() - 3600))
        server.stop()
        caplog.set_level("WARNING", "crmadmin.reports")
        for _ in range(3):
            response = client.get("/admin/")
            assert response.status_code == 200
        assert figures_on(client, "/admin/")["customers:customers"][0].strip() == "1"
        warnings = [r for r in caplog.records if r.name == "crmadmin.reports" and "dashboard:customers:all" in
                    r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
        server.start()
        with other.app_context():  # CRM_CACHE_RETRY_SECONDS later (its mark expired), the next page asks again
            assert cache.get("dashboard:customers:all:refreshing") is not None
            cache.delete("dashboard:customers:all:refreshing")
        assert client.get("/admin/").status_code == 200
        assert queue(other).pending_count() >= 1
    finally:
        server.stop()
        with other.app_context():
            cache.clear()
            from crmadmin.extensions import db
            db.engine.dispose()
