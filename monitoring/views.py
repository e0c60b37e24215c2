"""The three endpoints for load balancers, orchestrators and Prometheus. They are answered by
``monitoring.middleware.ProbeMiddleware`` ahead of every other middleware: no session, no user,
no language, no host check, no HTTPS redirect (see docs/monitoring.md for why that is safe)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .access import may_read_metrics
from .celery_queues import CeleryQueueCollector
from .metrics import PreflightCollector
from .readiness import readiness


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches no database: a database outage must not get every
    app server restarted."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every check passes (or is skipped), else 503; the body names each."""
    ready, results = readiness()
    body = {
        "status": "ok" if ready else "failing",
        "checks": {name: {"status": result.status, "detail": result.detail} for name, result in results.items()},
    }
    response = JsonResponse(body, status=200 if ready else 503)
    # Each failing check logged its error at WARNING already; Django would add an ERROR line per
    # probe (every few seconds, on every server, for the length of an outage).
    response._has_been_logged = True
    return response


def _process_registry():
    """This process's counters and histograms (requests, database, Celery sends); in multiprocess
    mode (``PROMETHEUS_MULTIPROC_DIR`` set when prometheus_client was first imported, as
    gunicorn.conf.py does), those of every worker process of this server, summed."""
    if values.ValueClass is not values.MutexValue:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    computed = CollectorRegistry(auto_describe=False)
    computed.register(PreflightCollector())
    computed.register(CeleryQueueCollector())
    computed_first = generate_latest(computed)  # its queries then count in this scrape's database figures
    body = computed_first + generate_latest(_process_registry())
    # The classic text format, which every Prometheus reads (Debian 12 ships 2.42).
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
