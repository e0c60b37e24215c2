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
    PROMETHEUS_MULTIPROC_DIR  where the workers keep their metrics for /metrics to sum (default: a
                         directory of this server's own under /dev/shm or the temporary folder,
                         made empty at start and removed at exit; docs/monitoring.md)
"""

import os
import shutil
import tempfile

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
# No access log of gunicorn's own: the app writes one per request (logger preflight.access, JSON in
# production, with the request id, the person, the client address read through TRUSTED_PROXIES and
# the duration), and a plain-text line among JSON lines would trouble a log pipeline.
accesslog = None
errorlog = "-"
loglevel = "info"
# The proxies whose X-Forwarded-Proto gunicorn believes (so a request the proxy received over HTTPS
# is one to the app); gunicorn's own setting and default, named here so it is documented with the rest.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "preflight"
control_socket_disable = True  # gunicorn 27's management socket: not used, and it would need a writable $HOME


# Metrics (docs/monitoring.md): each worker process writes its counters to files in one directory
# and /metrics sums them all, whichever worker Prometheus reaches (prometheus_client's multiprocess
# mode).
def on_starting(server) -> None:
    """In the master, before any worker imports the app: the directory (by default one of this
    server's own, so two servers on one machine never mix their counts), emptied, so counters
    start from zero with the server (its ``*.db`` files removed)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    directory = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", os.path.join(base, f"preflight-metrics-{os.getpid()}")
    )
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):  # prometheus_client's files only, whatever else is there
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server, worker) -> None:
    """A worker that exited (restarted after max_requests, killed on timeout) keeps its counters in
    the sums; only its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if os.environ["PROMETHEUS_MULTIPROC_DIR"].rsplit("-", 1)[-1] == str(os.getpid()):  # our own default
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
