"""Work nobody waits for, small enough for the web process: run after the response is closed.

Long or shared work (summaries, exports, backups, the daily refresh) goes to the job queue (crmadmin/jobs) instead.
"""
from typing import Callable

from flask import after_this_request, current_app, has_request_context


def after_response(work: Callable[[], None]) -> None:
    """Run `work` in a fresh app context after the response is closed (PEP 3333), or now outside a request."""
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            work()

    if not has_request_context():  # a command: nobody is waiting for a page
        run()
        return

    @after_this_request
    def later(response):
        response.call_on_close(run)
        return response
