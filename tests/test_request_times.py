"""Does the suite's guard on request time (tests/request_times.py) see every request, and can it fail?"""
import time

from tests.request_times import DEFAULT_LIMIT, RequestTimer, limit, too_slow


def test_the_guard_fails_on_a_slow_request_and_lists_the_slowest_first():
    """A request over the limit among quick ones: is the failure's message the slow ones, slowest first?"""
    timings = [(0.2, "GET", "/admin/"), (12.5, "POST", "/admin/settings/"), (30.0, "GET", "/admin/customer/export/"),
               (9.9, "GET", "/admin/jobs/")]
    message = too_slow(timings, 10)
    assert message is not None and message.startswith("2 request(s) took more than 10 s")
    assert message.index("30.0 s  GET /admin/customer/export/") < message.index("12.5 s  POST /admin/settings/")
    assert "/admin/jobs/" not in message and "/admin/\n" not in message
    assert too_slow(timings[:1] + timings[3:], 10) is None


def test_the_timer_records_each_request_of_the_test_app(app, client):
    """Is the suite's app wrapped, so that a request made by a test is timed with its method and address?"""
    assert isinstance(app.wsgi_app, RequestTimer)
    app.wsgi_app.take()
    client.get("/login?next=/admin/")
    [(spent, method, path)] = app.wsgi_app.take()
    assert method == "GET" and path == "/login?next=/admin/" and 0 < spent < DEFAULT_LIMIT


def test_a_wrapped_app_that_sleeps_is_timed_over_a_small_limit():
    """A WSGI app slower than the limit, through the timer: does the guard then report it?"""
    def sleepy(environ, start_response):
        time.sleep(0.05)
        start_response("200 OK", [])
        return [b""]

    timer = RequestTimer(sleepy)
    timer({"REQUEST_METHOD": "GET", "PATH_INFO": "/slow"}, lambda *a: None)
    assert "GET /slow" in too_slow(timer.take(), 0.01)


def test_the_limit_comes_from_the_environment_then_the_ini(monkeypatch, pytestconfig):
    """Is the limit pytest.ini's 10 s, unless CRM_TEST_SLOW_REQUEST_SECONDS says otherwise?"""
    monkeypatch.delenv("CRM_TEST_SLOW_REQUEST_SECONDS", raising=False)
    assert limit(pytestconfig) == 10.0
    monkeypatch.setenv("CRM_TEST_SLOW_REQUEST_SECONDS", "2.5")
    assert limit(pytestconfig) == 2.5
