"""Answers ``/healthz``, ``/readyz`` and ``/metrics`` before any other middleware runs.

First in ``MIDDLEWARE`` (config/settings.py's monitoring block), so a probe never reaches the
session (a signed-in cookie would load the session from the database), the user's language, CSRF,
django-axes, or ``CommonMiddleware``'s host check: load balancers and Prometheus often address a
server by its IP, which ``ALLOWED_HOSTS`` rightly refuses for pages. None of these responses reads
the Host header or builds a URL, which is what the host check protects. ``SecurityMiddleware``'s
HTTPS redirect is not reached either (probes speak plain HTTP inside the network)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from . import views

PROBES = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}


class ProbeMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBES.get(request.path_info) if request.method in ("GET", "HEAD") else None
        if view is None:
            return self.get_response(request)
        response = view(request)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
