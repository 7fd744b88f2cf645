"""gunicorn's settings for the panel, read from the working directory: `gunicorn app:app` run here picks them up."""
import gc

from crmadmin import deploy

# The access log's request line without its query string: a search puts names, phones and e-mails into the URL, and
# the log would keep them after the customer's data is erased. No referrer either (a page's URL, query and all).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s'


def on_starting(server):
    """The deploy checks, once, in the master, knowing the workers and the access-log format: an error stops gunicorn
    before any worker starts, warnings go to its error log once instead of once per worker (`crmadmin.deploy`)."""
    deploy.at_gunicorn_start(server)


def post_worker_init(worker):
    """What the app built at start-up (about 180,000 objects) leaves the garbage collector's full passes: each such pass
    walked them all in the request it fell on. (No request needs the worker's heartbeat: long work runs as jobs.)"""
    gc.freeze()
