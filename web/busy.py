"""A write that waited SQLite's whole busy timeout (``OPTIONS["timeout"]`` in config/settings.py)
for another writer's lock and gave up answers 503 "busy, try again" rather than 500: nothing was
saved (its transaction rolled back), and the same request a moment later succeeds. Every write
keeps the lock far shorter than the timeout, so this is the exception, not the plan."""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10


def database_busy(exception: BaseException) -> bool:
    """SQLite's "database is locked" (or "database table is locked"): another writer held on."""
    return isinstance(exception, OperationalError) and "is locked" in str(exception)


class DatabaseBusyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_busy(exception):
            return None
        logger.warning("%s %s gave up waiting for the database: %s", request.method, request.path, exception)
        # Rendered without the request: the layout's context processors read the database, and
        # the page must not depend on it (like 500.html). The language is already chosen.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
