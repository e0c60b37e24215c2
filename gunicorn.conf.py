"""gunicorn's configuration for Preflight (``bin/start web`` runs ``gunicorn -c gunicorn.conf.py``).

Read from the environment, failing loudly on a bad value (config/env.py):
    BIND / PORT          where to listen: BIND (e.g. "unix:/run/preflight.sock" or "0.0.0.0:8000")
                         wins; else 0.0.0.0:PORT (PORT default 8000)
    WEB_CONCURRENCY      worker processes (default 2 × CPUs + 1, the CPUs this process may use)
    GUNICORN_TIMEOUT     seconds a worker may spend on one request before it is killed and
                         replaced (default 30; a PDF is rendered by Celery, never in a request)
    GUNICORN_GRACEFUL_TIMEOUT  seconds a worker gets to finish its request on SIGTERM or a
                         restart (default 30)
    GUNICORN_MAX_REQUESTS  a worker is replaced, gracefully, after this many requests, plus up to a
                         tenth more at random so they do not all restart at once (default 1000;
                         0: never)
    FORWARDED_ALLOW_IPS  gunicorn's own: the proxies whose X-Forwarded-* it trusts (default
                         127.0.0.1; the app reads the client's address from TRUSTED_PROXIES)
"""

import os

from config.env import env_int

_PORT = env_int("PORT", 8000, min_value=1, max_value=65535)
bind = [os.environ.get("BIND", "").strip() or f"0.0.0.0:{_PORT}"]


def _cpus() -> int:
    """The CPUs this process may run on (a container's or a cgroup-pinned share), not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# Sync workers: each serves one request at a time, and the pages are short database work. Two per
# CPU keep the CPUs busy while one waits on PostgreSQL.
workers = env_int("WEB_CONCURRENCY", 2 * _cpus() + 1, min_value=1, max_value=256)
worker_class = "sync"
timeout = env_int("GUNICORN_TIMEOUT", 30, min_value=1, max_value=3600)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, min_value=1, max_value=3600)
# Behind a proxy that reuses its connections to the app.
keepalive = 5
max_requests = env_int("GUNICORN_MAX_REQUESTS", 1000, min_value=0)
max_requests_jitter = max_requests // 10

# The workers' heartbeat files in memory: a container's /tmp may be an overlay on a slow disk,
# where a blocked write looks like a hung worker.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Logs to stdout/stderr for the service manager (systemd's journal, the container runtime).
# The access log names the client the proxy saw, the status, the size and the time taken (µs).
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
proc_name = "preflight"
control_socket_disable = True  # gunicorn 27's management socket: not used, and it would need a writable $HOME
