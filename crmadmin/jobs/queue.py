"""The queue: a Huey instance per app on Redis (several hosts) or a SQLite file (one host, tests), and its worker."""
import logging
import os
from urllib.parse import urlsplit

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer


def jobs_url(app: Flask) -> str:
    """CRM_JOBS_URL, else REDIS_URL, else a SQLite file under the instance folder (the embedded queue of run.sh)."""
    return (app.config.get("CRM_JOBS_URL") or app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
            or f"sqlite:///{os.path.join(app.instance_path, 'jobs.sqlite3')}")


def build_queue(app: Flask) -> Huey:
    """redis://... (any number of workers on any number of hosts), sqlite:///path (workers of one host), memory://."""
    url = jobs_url(app)
    name = app.config.get("CRM_JOBS_NAME", "crmadmin")
    scheme = urlsplit(url).scheme
    if scheme in {"redis", "rediss", "unix"}:
        return RedisHuey(name, url=url, utc=True)
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteHuey(name, filename=path, utc=True)
    if scheme == "memory":  # one process only: apps built by tests that never run a worker
        return MemoryHuey(name, utc=True)
    raise ValueError(f"CRM_JOBS_URL: unsupported queue {url!r} (redis://, sqlite:/// or memory://)")


def queue(app: Flask | None = None) -> Huey:
    """The app's Huey instance: enqueue with queue().tasks..., or read its schedule."""
    return (app or current_app).extensions["jobs"]


def consumer(app: Flask, workers: int = 1, worker_type: str = "thread", periodic: bool = True) -> Consumer:
    """Huey's consumer for the app's queue; SIGTERM (systemd's stop, Ctrl+C's INT too) lets a running job finish."""
    return queue(app).create_consumer(workers=workers, worker_type=worker_type, periodic=periodic,
                                      graceful_signal="TERM", check_worker_health=True, initial_delay=0.05,
                                      max_delay=1.0, backoff=1.5)


def run_worker(app: Flask, workers: int = 1, worker_type: str = "thread", periodic: bool = True) -> None:
    """Run the worker in the foreground until SIGTERM (finish the running jobs, then exit) or SIGINT (interrupt)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    consumer(app, workers, worker_type, periodic).run()
