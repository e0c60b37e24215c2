"""Daily SLI values as CSV, for the ``record_sli`` command and the upload form.

The file has a header row ``date,indicator,value`` and one row per day and indicator:

    date,indicator,value
    2026-11-20,success_rate,99.62
    2026-11-20,latency_p95,1840
    2026-11-20,cost_daily,312.40

``date`` is ISO (YYYY-MM-DD); ``indicator`` one of success_rate, latency_p50, latency_p95,
latency_p99, error_rate, cost_daily (``cost`` is accepted for cost_daily); ``value`` a plain
number in the SLI's unit (percent, milliseconds, currency units). A file holds at most
``SLI_UPLOAD_MAX_ROWS`` values (10,000 by default). Parsing reports every bad row, naming its line
and column; the services then record all rows or none."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import SLI_ALIASES, SLI_INDICATORS
from .services import Measurement

COLUMNS = ["date", "indicator", "value"]


def parse_sli_csv(text: str) -> list[Measurement]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error:
        header = None
    if header is None or [column.strip().lower() for column in header] != COLUMNS:
        raise ValidationError(_("Line 1: the header must be exactly %(columns)s.") % {"columns": ",".join(COLUMNS)})
    measurements, problems = [], []
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as error:  # a cell beyond the csv module's field limit, a stray quote
            raise ValidationError(
                _("Line %(line)s: this is not a CSV row (%(problem)s).") % {"line": reader.line_num, "problem": error}
            ) from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(measurements) + len(problems) >= settings.SLI_UPLOAD_MAX_ROWS:
            raise ValidationError(
                _("The file has more than %(max)s rows, the most one upload takes (SLI_UPLOAD_MAX_ROWS); split it.")
                % {"max": f"{settings.SLI_UPLOAD_MAX_ROWS:,}"}
            )
        if len(row) != len(COLUMNS):
            problems.append(
                _("Line %(line)s: expected 3 columns (date, indicator, value), found %(count)s.")
                % {"line": line, "count": len(row)}
            )
            continue
        raw_date, raw_indicator, raw_value = (cell.strip() for cell in row)
        row_problems = []
        try:
            day = datetime.date.fromisoformat(raw_date)
        except ValueError:
            row_problems.append(
                _("Line %(line)s, column date: '%(value)s' is not a date (YYYY-MM-DD).")
                % {"line": line, "value": raw_date}
            )
        indicator = SLI_ALIASES.get(raw_indicator.lower(), raw_indicator.lower())
        if indicator not in SLI_INDICATORS:
            row_problems.append(
                _("Line %(line)s, column indicator: unknown indicator '%(value)s'; use one of %(known)s.")
                % {"line": line, "value": raw_indicator, "known": ", ".join(SLI_INDICATORS)}
            )
        try:
            value = Decimal(raw_value)
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            row_problems.append(
                _("Line %(line)s, column value: '%(value)s' is not a number.") % {"line": line, "value": raw_value}
            )
        if row_problems:
            problems.extend(row_problems)
            continue
        measurements.append(Measurement(day=day, indicator=indicator, value=value, line=line))
    if problems:
        raise ValidationError(problems)
    if not measurements:
        raise ValidationError(_("The file holds no values, only its header."))
    return measurements
