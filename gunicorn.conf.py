"""gunicorn's settings for the panel, read from the working directory: `gunicorn app:app` run here picks them up."""
import gc

from crmadmin import serving


def post_worker_init(worker):
    """What the app built at start-up (about 180,000 objects) leaves the garbage collector's full passes: each such pass
    walked them all, 80 to 130 ms in the request it fell on. And the worker's heartbeat goes to the app, so work that
    takes longer than --timeout (a whole list exported, an import) is not killed halfway (`crmadmin.serving`)."""
    gc.freeze()
    serving.lend_heartbeat(worker.notify if worker is not None else None)
