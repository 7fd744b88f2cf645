"""What the server lends the app: gunicorn's worker heartbeat, for work in a request that takes minutes.

A sync worker tells gunicorn's arbiter it is alive only between requests, so one request that outlasted `--timeout`
(a whole list exported: 10 million transactions take ten minutes) was killed halfway, and the user got a file cut off
at two million lines. Long work (an export, an import or its undo, new rules applied to everyone) calls
`still_working()` as it goes instead."""
from typing import Callable, Iterable, Iterator

_heartbeat: Callable[[], None] | None = None


def lend_heartbeat(notify: Callable[[], None] | None) -> None:
    """gunicorn.conf.py's post_worker_init hands over its worker's `notify`; None takes it back."""
    global _heartbeat
    _heartbeat = notify


def still_working() -> None:
    """Tell the server this worker is busy, not hung; nothing when no server lent a heartbeat (tests, flask run)."""
    if _heartbeat is not None:
        _heartbeat()


def beating(items: Iterable, every: int = 1000) -> Iterator:
    """`items`, with the heartbeat sent before each `every` of them: a long stream keeps its worker alive."""
    for index, item in enumerate(items):
        if index % every == 0:
            still_working()
        yield item
