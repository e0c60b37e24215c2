"""Logs: one line per record to stdout, JSON in production (``LOG_FORMAT``), each carrying what it
belongs to: the request (its id, the person, the launch its URL names) or the Celery task (its id
and name). The context lives in context variables set by ``RequestContextMiddleware`` and by
Celery's task signals, and a handler filter copies it onto every record, whichever logger wrote it.

The middleware also writes the access line (``preflight.access``: method, path, status, duration,
and the client's address, read through ``TRUSTED_PROXIES`` as sign-in throttling reads it)
and echoes the request id in ``X-Request-ID``: an id the client or the proxy sent is kept when it
is well formed (so one id follows a request through the load balancer, the app and its tasks),
otherwise one is made."""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from .client_ip import client_ip

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
LOG_STREAMS = ("stdout", "stderr")

# What a record may carry, in the order the text format prints it; the person is read from the request.
CONTEXT_FIELDS = ("request_id", "user_id", "launch", "task_id", "task_name")
_context: dict[str, ContextVar] = {
    name: ContextVar(f"log_{name}", default=None) for name in CONTEXT_FIELDS if name != "user_id"
}
# The request being served: the person is read from it when a line is written (``_known_user_id``).
_request: ContextVar = ContextVar("log_request", default=None)

# An incoming X-Request-ID is kept only if it is short and plain: it is written into every log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
REQUEST_ID_HEADER = "X-Request-ID"

access_log = logging.getLogger("preflight.access")


def bind(**values) -> dict:
    """Set context fields for what runs next in this context; returns the tokens for ``unbind``."""
    return {name: _context[name].set(value) for name, value in values.items()}


def unbind(tokens: dict) -> None:
    for name, token in tokens.items():
        _context[name].reset(token)


def current() -> dict:
    """The context fields that are set now."""
    return {name: var.get() for name, var in _context.items() if var.get() is not None}


class ContextFilter(logging.Filter):
    """Copies the current context onto each record (a handler filter: it sees every logger's records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a 4xx/5xx after the middleware has returned: its record names the request.
        request = _request.get() or getattr(record, "request", None)
        request_id = getattr(request, "request_id", None)
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        user_id = _known_user_id(request)
        if user_id is not None and not hasattr(record, "user_id"):
            record.user_id = user_id
        for name, value in current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def _known_user_id(request) -> int | None:
    """The signed-in person's id, if the request has looked them up already: logging never queries
    the database itself (a log line while the database is down must not fail)."""
    user = getattr(request, "__dict__", {}).get("user")
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    return user.pk if user is not None and getattr(user, "is_authenticated", False) else None


class TextFormatter(logging.Formatter):
    """For people at a terminal (DEBUG on): the classic line, then the context that is set."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name))
        return f"{line} [{context}]" if context else line


def json_formatter() -> JsonFormatter:
    """One JSON object per line: time, level, logger, message, the context and any ``extra``."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601 in UTC, to the microsecond
        reserved_attrs=[*RESERVED_ATTRS, "request"],  # Django's request object: its repr says nothing useful
    )


def logging_config(*, level: str, log_format: str, stream: str = "stdout") -> dict:
    """The ``LOGGING`` dict: everything to stdout through one handler at ``level``; noisy
    libraries held at WARNING; Django's own console handler dropped so nothing is written twice."""
    formatter = (
        {"()": "config.logs.json_formatter"}
        if log_format == "json"
        else {
            "()": "config.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.logs.ContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": f"ext://sys.{stream}",
                "formatter": "default",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Django's defaults add a console handler of their own (with DEBUG on) and mail to
            # ADMINS; here everything goes through the root's one handler.
            "django": {"handlers": [], "level": level, "propagate": True},
            # WeasyPrint's progress and fontTools' subsetting write several INFO lines per PDF.
            "weasyprint.progress": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
            "axes.apps": {"level": "WARNING"},  # a banner at every start; sign-in failures stay at INFO
        },
    }


class RequestContextMiddleware:
    """First in ``MIDDLEWARE``: binds the request id and the request for the whole request (each
    line reads the person from it once something has looked them up: logging never queries), and
    the launch once the URL is resolved; writes the access line with the duration, and echoes the
    id on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        tokens = bind(request_id=request_id, launch=None)
        request_token = _request.set(request)
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            response[REQUEST_ID_HEADER] = request_id
            client = client_ip(request)
            access_log.info(
                "%s %s %s %.1fms %s",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                client,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "client": client,
                },
            )
            return response
        finally:
            _request.reset(request_token)
            unbind(tokens)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("slug")
        if slug:  # every URL argument named ``slug`` names a launch (web.urls)
            _context["launch"].set(slug)
        return None


# Celery: each task's lines carry its id and name, and the id of the request that sent it: the
# sender puts it in the message's headers (``REQUEST_ID_TASK_HEADER``); in-process (eager) tasks
# keep the sender's context anyway.
REQUEST_ID_TASK_HEADER = "preflight_request_id"
_task_tokens: dict[str, dict] = {}


def task_published(headers=None, **kwargs) -> None:
    request_id = _context["request_id"].get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_TASK_HEADER, request_id)


def task_started(task_id=None, task=None, **kwargs) -> None:
    values = {"task_id": task_id, "task_name": getattr(task, "name", None)}
    sent_by = getattr(getattr(task, "request", None), REQUEST_ID_TASK_HEADER, None)
    if sent_by and _REQUEST_ID.fullmatch(str(sent_by)):
        values["request_id"] = sent_by
    _task_tokens[task_id] = bind(**values)


def task_finished(task_id=None, **kwargs) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        unbind(tokens)


def connect_celery() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(task_published, dispatch_uid="logs_task_published", weak=False)
    task_prerun.connect(task_started, dispatch_uid="logs_task_started", weak=False)
    task_postrun.connect(task_finished, dispatch_uid="logs_task_finished", weak=False)
