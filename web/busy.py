"""A request the database could not serve answers 503 with Retry-After and the app's own page,
rendered without the database, rather than 500:

- on SQLite, a write that waited the whole busy timeout (``OPTIONS["timeout"]`` in
  config/settings.py) for another writer's lock and gave up; every write keeps the lock far shorter
  than the timeout, so this is the exception, not the plan;
- on PostgreSQL, a database that cannot be reached or dropped the connection (stopped, restarting,
  failing over: psycopg's ``OperationalError`` / ``InterfaceError``), and a transaction it aborted
  (a deadlock, a statement cancelled).

Nothing was saved either way (the transaction rolled back, or never began), and the same request
a moment later succeeds; a resubmitted form records once (``web.idempotency``). A failure in a view
is caught by ``DatabaseBusyMiddleware``; one before the view or after it (the session, the
submission record) reaches Django's error handler, ``server_error``, which answers the same."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)


def _causes(exception: BaseException | None):
    seen = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        yield exception
        # Only what raised it on purpose (``raise ... from``, as Django wraps a driver's error): an
        # error merely raised while another was being handled is a bug of its own, not an outage.
        exception = exception.__cause__


def database_busy(exception: BaseException) -> bool:
    """SQLite's "database is locked" (or "database table is locked"): another writer held on."""
    return isinstance(exception, OperationalError) and "is locked" in str(exception)


def database_unavailable(exception: BaseException | None) -> bool:
    """Whether ``exception`` (or what caused it) is the database failing to serve, not a bug."""
    for cause in _causes(exception):
        if database_busy(cause):
            return True
        if connection.vendor == "postgresql" and isinstance(cause, OperationalError | InterfaceError):
            return True
        if type(cause).__module__.startswith("psycopg") and type(cause).__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return True
    return False


def unavailable_response(request: HttpRequest, exception: BaseException) -> HttpResponse:
    logger.warning("%s %s: the database could not serve it: %s", request.method, request.path, exception)
    # Rendered without the request: the layout's context processors read the database, and
    # the page must not depend on it (like 500.html). The language is already chosen.
    busy = any(database_busy(cause) for cause in _causes(exception))
    response = HttpResponse(render_to_string("503.html", {"busy": busy}), status=503)
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    return response


class DatabaseBusyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        return unavailable_response(request, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """Django's ``handler500``: 503 when the database failed outside a view, else the 500 page."""
    exception = sys.exc_info()[1]
    if database_unavailable(exception):
        return unavailable_response(request, exception)
    return HttpResponseServerError(loader.get_template("500.html").render())
