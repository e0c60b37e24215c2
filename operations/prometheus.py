"""Pulling daily SLI values from a launch's Prometheus server through its HTTP API.

For each indicator with a query and each day still missing (from ``PROMETHEUS_BACKFILL_DAYS`` ago
up to yesterday), an instant query (``/api/v1/query``) evaluated at the day's end gives that day's
value; the query must return one series (or a scalar) in the SLI's unit. Days already recorded, by
anyone, are left alone, so pulling twice records nothing new. Every run leaves a ``PrometheusPull``
row with what it recorded and what failed, which the launch page shows.

The server fetches a URL a user chose, so the fetch is bounded (SSRF): the host must be in
``PROMETHEUS_ALLOWED_HOSTS`` (checked again at every pull, not only when configured), only http and
https, no proxies from the environment, redirects refused, a short timeout and a cap on the
response's size."""

from __future__ import annotations

import datetime
import json
import time
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import (
    SLI_ALIASES,
    SLI_INDICATORS,
    PrometheusPull,
    PrometheusSource,
    PullStatus,
    SliActual,
    day_end,
    prometheus_url_problem,
)
from .services import Measurement, sli_record_pulled


class PrometheusError(Exception):
    """A pull that could not get a value; the message is shown to the launch's owner."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise PrometheusError(f"The Prometheus server answered with a redirect ({code}); redirects are not followed.")


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _read_by_deadline(response, size: int) -> bytes:
    """Up to ``size`` bytes of ``response``, within ``PROMETHEUS_TIMEOUT_SECONDS`` in all: the
    socket's timeout bounds each read only, and a server sending a byte now and then would hold the
    daily pull, every launch's, for as long as it liked."""
    deadline = time.monotonic() + settings.PROMETHEUS_TIMEOUT_SECONDS
    chunks, received = [], 0
    while received < size:
        if time.monotonic() > deadline:
            raise PrometheusError(
                f"The Prometheus answer took longer than {settings.PROMETHEUS_TIMEOUT_SECONDS} seconds to arrive."
            )
        chunk = response.read1(min(65536, size - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def fetch_json(url: str) -> dict:
    """GET ``url`` (already checked against the allowed hosts) and decode its JSON body, bounded."""
    if problem := prometheus_url_problem(url.split("/api/v1/", 1)[0]):
        raise PrometheusError(problem)
    limit = settings.PROMETHEUS_MAX_RESPONSE_BYTES
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _opener.open(request, timeout=settings.PROMETHEUS_TIMEOUT_SECONDS) as response:
            body = _read_by_deadline(response, limit + 1)
    except urllib.error.HTTPError as error:
        body = _read_by_deadline(error, limit + 1)
        if not body:
            raise PrometheusError(f"The Prometheus server answered HTTP {error.code}.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise PrometheusError(
            f"The Prometheus server could not be reached: {getattr(error, 'reason', error)}"
        ) from None
    if len(body) > limit:
        raise PrometheusError(f"The Prometheus answer is larger than {limit} bytes; narrow the query.")
    try:
        return json.loads(body)
    except ValueError:
        raise PrometheusError("The Prometheus server did not answer with JSON.") from None


def query_value(source: PrometheusSource, query: str, at: datetime.datetime) -> Decimal | None:
    """The query's value at ``at``; None when Prometheus has no sample for it. Any answer that is
    not one finite number fitting a day's value is a ``PrometheusError``: the server is not
    trusted, and an answer it cannot read must fail this source's pull, never the others'."""
    url = f"{source.base_url.rstrip('/')}/api/v1/query?" + urlencode({"query": query, "time": f"{at.timestamp():.3f}"})
    answer = fetch_json(url)
    try:
        raw = _raw_value(answer)
    except (AttributeError, IndexError, KeyError, TypeError):
        raise PrometheusError("The Prometheus answer is not the shape of a query result.") from None
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise PrometheusError(f"Prometheus returned '{raw}', not a number.") from None
    if not value.is_finite():
        raise PrometheusError(f"Prometheus returned '{raw}', not a finite number.")
    try:
        return value.quantize(Decimal("0.001"))
    except InvalidOperation:  # too many digits to keep to the thousandth
        raise PrometheusError(f"Prometheus returned '{raw}', not a plausible daily value.") from None


def _raw_value(answer):
    """The single sample of a query result (None when there is none); raises on other shapes."""
    if answer.get("status") != "success":
        raise PrometheusError(f"Prometheus refused the query: {answer.get('error', 'no reason given')}")
    data = answer.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return result[1]
    if kind == "vector":
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusError(f"The query returned {len(result)} series; write one that returns a single value.")
        return result[0]["value"][1]
    raise PrometheusError(f"The query returned a {kind}; write one that returns a single value.")


def days_to_pull(today: datetime.date) -> list[datetime.date]:
    """Up to ``PROMETHEUS_BACKFILL_DAYS`` days, oldest first, ending yesterday."""
    return [today - datetime.timedelta(days=n) for n in range(settings.PROMETHEUS_BACKFILL_DAYS, 0, -1)]


def pull_source(source: PrometheusSource, *, now: datetime.datetime | None = None) -> PrometheusPull:
    """Pull ``source``'s missing days up to the day before ``now`` (default: now) and record them.

    A day's value is asked at the day's end, but never at a moment still to come: a test (or a
    catch-up run) passing a later ``now`` gets the latest sample instead of an empty answer."""
    real_now = timezone.now()
    now = now or real_now
    days = days_to_pull(timezone.localdate(now))
    queries = {SLI_ALIASES.get(k, k): q for k, q in source.queries.items() if SLI_ALIASES.get(k, k) in SLI_INDICATORS}
    have = set(
        SliActual.objects.filter(launch_id=source.launch_id, day__gte=days[0], indicator__in=queries).values_list(
            "indicator", "day"
        )
    )
    measurements, errors = [], []
    if problem := prometheus_url_problem(source.base_url):
        errors.append(problem)
    else:
        for indicator, query in sorted(queries.items()):
            for day in days:
                if (indicator, day) in have:
                    continue
                try:
                    value = query_value(source, query, min(day_end(day), real_now))
                except PrometheusError as error:
                    errors.append(f"{indicator} {day.isoformat()}: {error}")
                    break  # the next days would fail the same way; tomorrow's run tries again
                if value is not None:
                    measurements.append(Measurement(day=day, indicator=indicator, value=value))
    recorded = []
    if measurements:
        try:
            recorded = sli_record_pulled(launch=source.launch, measurements=measurements)
        except ValidationError as error:  # a value out of range: report it on the page, record nothing
            errors.append(" ".join(getattr(error, "messages", [str(error)])))
    return PrometheusPull.objects.create(
        source=source,
        status=PullStatus.FAILED if errors else PullStatus.OK,
        recorded=len(recorded),
        errors=errors[:20],
    )


def pull_all(*, now: datetime.datetime | None = None) -> list[PrometheusPull]:
    """Every launch's source, one after the other; a failing source never stops the others."""
    sources = PrometheusSource.objects.filter(launch__archived=False).select_related("launch").order_by("pk")
    return [pull_source(source, now=now) for source in sources]
