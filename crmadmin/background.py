"""Work nobody waits for: after the response in the same worker, or on the worker process's one background thread."""
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable

from flask import after_this_request, current_app, has_request_context

_state = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None
_pending: set[Future] = set()


def after_response(work: Callable[[], None]) -> None:
    """Run `work` in a fresh app context after the response is closed (PEP 3333), or now outside a request."""
    run = _in_app_context(work, log_failure=False)
    if not has_request_context():  # a command: nobody is waiting for a page
        run()
        return

    @after_this_request
    def later(response):
        response.call_on_close(run)
        return response


def in_background(work: Callable[[], None]) -> None:
    """Run `work` in a fresh app context on this process's background thread, or now outside a request.

    A sync worker that ran it after the response could serve no one meanwhile: a summary recomputed at a million
    customers held it 0.1–1.7 s. One thread per process runs such work one piece at a time, with one connection."""
    run = _in_app_context(work, log_failure=True)
    if not has_request_context():
        run()
        return
    with _state:
        future = _process_executor().submit(run)
        _pending.add(future)
    future.add_done_callback(_forget)


def wait_idle(timeout: float | None = 30) -> bool:
    """Wait until the background work queued so far has finished; whether it has (tests, and a clean stop)."""
    with _state:
        pending = set(_pending)
    return not wait(pending, timeout=timeout).not_done


def _in_app_context(work: Callable[[], None], log_failure: bool) -> Callable[[], None]:
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                work()
            except Exception:
                if not log_failure:
                    raise
                app.logger.exception("background work failed")  # a thread's error reaches no one but the log

    return run


def _process_executor() -> ThreadPoolExecutor:
    """The executor of this process: one made before a fork (gunicorn --preload) has no thread in the worker."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        _executor, _executor_pid = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-background"), os.getpid()
        _pending.clear()
    return _executor


def _forget(future: Future) -> None:
    with _state:
        _pending.discard(future)
