"""Database figures under django-prometheus' own names (``django_db_*``), counted by an execute
wrapper each connection gets when it opens, rather than by its database engines: swapping
``ENGINE`` for ``django_prometheus.db.backends.*`` would hide from everything that recognises SQLite
or PostgreSQL by its engine name (pytest-django's per-worker test databases, for one) what the
database is.

Every statement through Django's cursors is counted by alias and vendor, timed, and its errors
counted by exception type; new connections are counted as they open (a connection that fails to
open shows as ``/readyz``'s database check and the request's error, not here)."""

from __future__ import annotations

from django.db.backends.signals import connection_created
from django_prometheus.db import connections_total, errors_total, execute_many_total, execute_total
from django_prometheus.db import query_duration_seconds as duration


def _measured(execute, sql, params, many, context):
    connection = context["connection"]
    alias, vendor = connection.alias, connection.vendor
    count = len(params) if many and params is not None else 1
    execute_total.labels(alias, vendor).inc(count)
    if many:
        execute_many_total.labels(alias, vendor).inc(count)
    try:
        with duration.labels(alias=alias, vendor=vendor).time():
            return execute(sql, params, many, context)
    except Exception as error:
        errors_total.labels(alias=alias, vendor=vendor, type=type(error).__name__).inc()
        raise


def _instrument(sender, connection, **kwargs) -> None:
    connections_total.labels(connection.alias, connection.vendor).inc()
    if _measured not in connection.execute_wrappers:
        # First in the list, so that a ``with connection.execute_wrapper(...)`` that opened the
        # connection still pops its own wrapper, the last, when it ends.
        connection.execute_wrappers.insert(0, _measured)


connection_created.connect(_instrument, dispatch_uid="monitoring.database.instrument")
