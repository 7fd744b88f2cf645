"""A running job's heartbeat on the board while a long step reports nothing (a batch undo or a merge in one
transaction, a backup, a range of new rules): the clean-up must not reap a live job, and must reap one whose worker
died. On the queue's storage, not the job row: on SQLite a long transaction (the job's own, or an import's) holds the
database's only write lock, so a row heartbeat would wait behind it."""
import logging
import threading
from contextlib import contextmanager

from flask import Flask

from . import records

log = logging.getLogger(__name__)
BEAT_SECONDS = 30  # at most; a fifth of CRM_JOB_STALE_SECONDS when that is shorter (the tests' clock)


def every(stale_seconds: float) -> float:
    """Seconds between beats: several inside the stale limit, so one late beat never looks like a dead worker."""
    return max(0.05, min(BEAT_SECONDS, stale_seconds / 5))


class Heartbeat(threading.Thread):
    """Puts the job's progress so far (and so its heartbeat) on the board every `seconds` until stopped."""

    def __init__(self, huey, job_id: int, total: int, seconds: float):
        super().__init__(name=f"crm-job-{job_id}-heartbeat", daemon=True)
        self.huey, self.job_id, self.total, self.done, self.seconds = huey, job_id, total, 0, seconds
        self.stopping = threading.Event()

    def note(self, done: int, total: int | None = None) -> None:
        """Progress made (rows stored, entries undone): shown at once, and carried by the following beats."""
        self.done, self.total = done, self.total if total is None else total
        self.put()

    def put(self) -> None:
        try:
            records.note_progress(self.huey, self.job_id, self.done, self.total)
        except Exception:  # the queue's storage is down for a moment: the next beat tries again
            log.warning("Job %s: its heartbeat could not be stored", self.job_id, exc_info=True)

    def run(self) -> None:
        while not self.stopping.wait(self.seconds):
            self.put()


@contextmanager
def beating(app: Flask, job_id: int, total: int = 0):
    """A heartbeat for the job while the block runs (its commit included); yields it, for `note(done)`."""
    beat = Heartbeat(app.extensions["jobs"], job_id, total, every(app.config["CRM_JOB_STALE_SECONDS"]))
    beat.put()
    beat.start()
    try:
        yield beat
    finally:
        beat.stopping.set()
        beat.join()
