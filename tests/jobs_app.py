"""The app a worker subprocess of tests/test_jobs.py serves (`flask --app tests.jobs_app crm worker`): the suite's
database and queue, plus `hold`, a job that waits for the test's go-ahead, to stop a worker in the middle of one, and
(CRM_TEST_UNDO_GATE) a batch undo that waits the same way in the middle of its transaction."""
import itertools
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from crmadmin import create_app


def wait_for(condition, seconds: float = 30.0) -> None:
    """Poll until condition() holds (a worker's thread or process does the work); fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextmanager
def worker_process(env: dict, cwd):
    """A real `flask crm worker` process (no periodic tasks) for the block, killed at its end if still alive."""
    process = subprocess.Popen([sys.executable, "-m", "flask", "crm", "worker", "--no-periodic"], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def kill_hard(process) -> None:
    """kill -9, as a crash or the OOM killer would: no clean-up of its own."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def register_hold(huey):
    """hold(folder): writes 'started', waits (at most 20 s) until the test writes 'go', then writes 'done'."""
    @huey.task(name="hold")
    def hold(folder: str) -> str:
        folder = Path(folder)
        (folder / "started").write_text(str(os.getpid()))
        deadline = time.monotonic() + 20
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        (folder / "done").write_text("done")
        return "held"
    return hold


def gate(folder, pause_at: int, real):
    """`real` (audit.undo's _undo_one, merge's _move_records), pausing before its `pause_at`th call until the test
    writes 'go' (at most 20 s) in `folder`, after writing 'paused' there: work caught in the middle of its one
    transaction."""
    folder, seen = Path(folder), itertools.count(1)

    def gated(*args, **kwargs):
        if next(seen) == pause_at:
            (folder / "paused").write_text(str(os.getpid()))
            deadline = time.monotonic() + 20
            while not (folder / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return real(*args, **kwargs)
    return gated


if os.environ.get("CRM_TEST_WORKER_DB"):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=os.environ["CRM_TEST_WORKER_DB"],
                     CRM_JOBS_URL=os.environ["CRM_TEST_WORKER_QUEUE"], CRM_JOBS_NAME=os.environ["CRM_TEST_WORKER_NAME"])
    register_hold(app.extensions["jobs"])
    if os.environ.get("CRM_TEST_UNDO_GATE"):
        from crmadmin.audit import undo
        undo.FLUSH_ENTRIES = 5  # a flush (SQLite's write lock taken, rows locked) before the pause
        undo._undo_one = gate(os.environ["CRM_TEST_UNDO_GATE"], 7, undo._undo_one)
