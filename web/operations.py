"""SLO actuals on the launch page (issue 11, point 2): per SLO a chart of the last days against
the target and alert lines, month-to-date compliance, the error budget left and cost against the
budget; the forms to record one day's values or upload a CSV, and the Prometheus source. Values are
recorded and the source configured only through ``operations.services``, which decide who may."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from operations.models import SLI_CHOICES, SLI_INDICATORS, PrometheusSource, SliSource
from operations.selectors import slo_standings
from operations.services import (
    Measurement,
    may_configure_source,
    prometheus_source_set,
    recordable_indicators,
    sli_record,
)
from operations.sli_csv import parse_sli_csv
from presentation.slo import standing_row
from readiness.access import get_launch_for
from readiness.models import Launch

from .forms import DateInput, add_service_errors

MAX_UPLOAD_BYTES = 1_000_000


class DayValuesForm(forms.Form):
    """One day's values: a field per SLI the user may record; empty fields are left alone."""

    day = forms.DateField(label=gettext_lazy("Day"), widget=DateInput)

    def __init__(self, *args, indicators=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].initial = timezone.localdate() - datetime.timedelta(days=1)
        for code, label in SLI_CHOICES:
            if code in indicators:
                self.fields[code] = forms.DecimalField(label=label, required=False, max_digits=14, decimal_places=3)

    def measurements(self) -> list[Measurement]:
        day = self.cleaned_data["day"]
        return [
            Measurement(day=day, indicator=code, value=self.cleaned_data[code])
            for code in SLI_INDICATORS
            if code in self.fields and self.cleaned_data.get(code) is not None
        ]


class CsvUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "Columns date,indicator,value; at most %(max)s rows; all rows are recorded or none."
        ) % {"max": f"{settings.SLI_UPLOAD_MAX_ROWS:,}"}


class PrometheusSourceForm(forms.Form):
    base_url = forms.CharField(label=gettext_lazy("Prometheus URL"), max_length=300)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for code, label in SLI_CHOICES:
            self.fields[f"query_{code}"] = forms.CharField(
                label=_("PromQL for %(indicator)s") % {"indicator": label}, required=False, max_length=2000
            )

    def queries(self) -> dict[str, str]:
        return {
            code: self.cleaned_data[f"query_{code}"].strip()
            for code in SLI_INDICATORS
            if self.cleaned_data.get(f"query_{code}", "").strip()
        }


def slo_actuals_section(user, launch: Launch, *, may_change: bool) -> dict:
    """The launch page's SLO actuals: one row per SLO, and the forms ``user`` may use."""
    today = timezone.localdate()
    standings = slo_standings(launch, today)
    # The owner may do everything without a query; anyone else is looked up in the RACI once.
    areas = None if user.pk == launch.owner_id else list(launch.areas.all())  # prefetched by the checklist
    indicators = recordable_indicators(user, launch, areas) if not launch.archived else set()
    configurable = not launch.archived and may_configure_source(user, launch, areas)
    source = PrometheusSource.objects.filter(launch=launch).first() if (configurable or may_change) else None
    return {
        "slo_rows": [standing_row(standing, today) for standing in standings],
        "slo_period": (standings[0].start, standings[0].end) if standings else None,
        "sli_form": DayValuesForm(indicators=indicators) if indicators else None,
        "sli_upload_form": CsvUploadForm() if indicators else None,
        "prometheus_source": source,
        "prometheus_pull": source.pulls.first() if source else None,
        "may_configure_source": configurable,
    }


def _back(slug: str) -> HttpResponse:
    return redirect(reverse("web:launch", args=[slug]) + "#slo-actuals")


def _recorded(request: HttpRequest, *, written: int, given: int) -> None:
    if written == given:
        messages.success(request, _("%(count)s SLI value(s) recorded.") % {"count": written})
    else:
        messages.success(
            request,
            _("%(count)s SLI value(s) recorded; %(unchanged)s already held the same value and were left alone.")
            % {"count": written, "unchanged": given - written},
        )


def _recording_launch(request: HttpRequest, slug: str) -> tuple[Launch, set[str]]:
    """The launch (404 for who may not see it) and what the user may record (403 if nothing)."""
    launch = get_launch_for(request.user, slug)
    indicators = recordable_indicators(request.user, launch)
    if not indicators:
        raise PermissionDenied(
            _("Only the launch owner and the Responsible or Accountable for an SLI record its values.")
        )
    return launch, indicators


@require_http_methods(["GET", "POST"])
@login_required
def record_day(request: HttpRequest, slug: str) -> HttpResponse:
    launch, indicators = _recording_launch(request, slug)
    form = DayValuesForm(request.POST or None, indicators=indicators)
    if request.method == "POST" and form.is_valid():
        measurements = form.measurements()
        try:
            actuals = sli_record(actor=request.user, launch=launch, measurements=measurements, source=SliSource.FORM)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            _recorded(request, written=len(actuals), given=len(measurements))
            return _back(slug)
    return render(request, "web/sli_form.html", {"launch": launch, "form": form, "upload": False})


@require_http_methods(["GET", "POST"])
@login_required
def upload_csv(request: HttpRequest, slug: str) -> HttpResponse:
    launch, _indicators = _recording_launch(request, slug)
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_UPLOAD_BYTES:
                raise ValidationError(_("The file is larger than %(max)s bytes; split it.") % {"max": MAX_UPLOAD_BYTES})
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(_("The file is not UTF-8 text.")) from None
            measurements = parse_sli_csv(text)
            actuals = sli_record(actor=request.user, launch=launch, measurements=measurements, source=SliSource.FORM)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            _recorded(request, written=len(actuals), given=len(measurements))
            return _back(slug)
    return render(request, "web/sli_form.html", {"launch": launch, "form": form, "upload": True})


@require_http_methods(["GET", "POST"])
@login_required
def prometheus_source(request: HttpRequest, slug: str) -> HttpResponse:
    launch = get_launch_for(request.user, slug)
    if not may_configure_source(request.user, launch):
        raise PermissionDenied(
            _("Only the launch owner and the Accountable for availability configure its Prometheus source.")
        )
    current = PrometheusSource.objects.filter(launch=launch).first()
    initial = {"base_url": current.base_url, **{f"query_{k}": v for k, v in current.queries.items()}} if current else {}
    form = PrometheusSourceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            prometheus_source_set(
                actor=request.user, launch=launch, base_url=form.cleaned_data["base_url"], queries=form.queries()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Prometheus source saved; the daily pull fills in the missing days."))
            return _back(slug)
    return render(request, "web/prometheus_source.html", {"launch": launch, "form": form})
