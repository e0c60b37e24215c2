"""Reports in the product: asking for one (a POST; the render runs in the background), its status
(pending, which polls with htmx until it is ready or failed; ready, with its download), the
download itself, the person's recent reports, and the page that checks an uploaded PDF against the
record. Every read checks on the server that the person may see the report: a launch's reports,
whoever may view the launch (others: 404); a portfolio report, only the person who asked for it."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readiness.access import get_launch_for
from readiness.models import Launch, RolloutStage
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import report_request, report_verify, report_visible_to

# The largest file the verification page accepts; a report of a very large launch is a few MB.
VERIFY_MAX_BYTES = 20 * 1024 * 1024
RECENT_REPORTS = 20


class ReportRequestForm(forms.Form):
    """What the launch page's report buttons post; the language defaults to the page's."""

    kind = forms.ChoiceField(choices=[(ReportKind.LAUNCH, ReportKind.LAUNCH), (ReportKind.CHECKLIST, "checklist")])
    stage = forms.IntegerField(required=False)
    language = forms.ChoiceField(choices=settings.LANGUAGES, required=False)


class PortfolioReportForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES, required=False)


class VerifyForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Report (PDF)"),
        help_text=gettext_lazy("A PDF downloaded from Preflight, at most 20 MB."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > VERIFY_MAX_BYTES:
            raise ValidationError(_("The file is larger than 20 MB: no report Preflight issues is that large."))
        upload.seek(0)
        if upload.read(5) != b"%PDF-":
            raise ValidationError(_("This file is not a PDF. Upload the PDF of a report as you downloaded it."))
        upload.seek(0)
        return upload


def _language(request: HttpRequest, form: forms.Form) -> str:
    return form.cleaned_data.get("language") or translation.get_language() or settings.LANGUAGE_CODE


def _status_response(request: HttpRequest, report: Report, *, status: int = 200) -> HttpResponse:
    context = status_context(report)
    if request.htmx:
        return render(request, "web/_report_status.html", context, status=status)
    return render(request, "web/report_status.html", context, status=status)


def status_context(report: Report) -> dict:
    """What the status fragment shows: where it polls, where "ask again" posts, whether it stalled."""
    if report.kind == ReportKind.PORTFOLIO:
        status_url = reverse("web:report", args=[report.pk])
        request_url = reverse("web:portfolio-report")
    else:
        status_url = reverse("web:launch-report", args=[report.launch.slug, str(report.pk)])
        request_url = reverse("web:report-request", args=[report.launch.slug])
    return {
        "report": report,
        "stalled": report.is_stalled(),
        "status_url": status_url,
        "request_url": request_url,
        "download_url": reverse("web:report-download", args=[report.pk]),
        "pdf_retention_days": settings.REPORT_PDF_RETENTION_DAYS,
    }


def _reports() -> object:
    return Report.objects.select_related("launch", "stage", "requested_by").defer("pdf")


def _report_for(user, pk) -> Report:
    """The report ``pk`` if ``user`` may read it; 404 otherwise, as for an unknown one."""
    try:
        report = _reports().get(pk=pk)
    except (Report.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such report.") from None
    if not report_visible_to(user, report):
        raise Http404("No such report.")
    return report


@require_POST
@login_required
def request_launch_report(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask for the launch's report or one stage's checklist: anyone who may view the launch."""
    launch = get_launch_for(request.user, slug)
    form = ReportRequestForm(request.POST)
    if not form.is_valid():
        return _refused(request, launch, _("Choose a report of this launch to ask for."))
    stage = None
    if form.cleaned_data["kind"] == ReportKind.CHECKLIST:
        stage = RolloutStage.objects.filter(pk=form.cleaned_data["stage"], launch=launch).first()
    try:
        report = report_request(
            actor=request.user,
            kind=form.cleaned_data["kind"],
            language=_language(request, form),
            launch=launch,
            stage=stage,
        )
    except ValidationError as error:
        return _refused(request, launch, " ".join(error.messages))
    return _asked(request, report)


@require_POST
@login_required
def request_portfolio_report(request: HttpRequest) -> HttpResponse:
    """Ask for the portfolio report: what the person may see, for them alone."""
    form = PortfolioReportForm(request.POST)
    form.is_valid()
    report = report_request(actor=request.user, kind=ReportKind.PORTFOLIO, language=_language(request, form))
    return _asked(request, report)


def _asked(request: HttpRequest, report: Report) -> HttpResponse:
    report = _reports().get(pk=report.pk)  # as committed: rendered already when tasks run in-process
    if request.htmx:
        return _status_response(request, report)
    return redirect("web:report", report.pk)


def _refused(request: HttpRequest, launch: Launch | None, message: str) -> HttpResponse:
    if request.htmx:
        return render(request, "web/_report_refused.html", {"message": message})
    messages.error(request, message)
    return redirect(reverse("web:launch", args=[launch.slug]) + "#reports")


@require_GET
@login_required
def report_status(request: HttpRequest, pk, slug: str | None = None) -> HttpResponse:
    """Where a report stands, as a page or (htmx, polled while pending) as a fragment. Under a
    launch's URL, only that launch's reports exist."""
    if slug is not None:
        launch = get_launch_for(request.user, slug)
        report = _report_for(request.user, pk)
        if report.launch_id != launch.pk:
            raise Http404("No such report of this launch.")
    else:
        report = _report_for(request.user, pk)
    return _status_response(request, report)


@require_GET
@login_required
def report_download(request: HttpRequest, pk) -> HttpResponse:
    """The PDF, as issued, with its SHA-256 in a header, to whoever may see its launch."""
    report = _report_for(request.user, pk)
    if report.status != ReportStatus.READY:
        return redirect("web:report", report.pk)
    pdf = bytes(Report.objects.values_list("pdf", flat=True).get(pk=report.pk))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, download_name(report))
    response["X-Report-Id"] = str(report.pk)
    response["X-Report-SHA256"] = report.sha256
    response["Cache-Control"] = "private, no-store"
    return response


def download_name(report: Report) -> str:
    day = timezone.localdate(report.finished_at or report.requested_at).isoformat()
    if report.kind == ReportKind.PORTFOLIO:
        return f"portfolio-readiness-{day}.pdf"
    if report.kind == ReportKind.CHECKLIST:
        stage = slugify(report.stage.name) or f"stage-{report.stage_id}"
        return f"{report.launch.slug}-{stage}-checklist-{day}.pdf"
    return f"{report.launch.slug}-readiness-{day}.pdf"


@require_GET
@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """The person's own recent reports, newest first."""
    reports = list(_reports().filter(requested_by=request.user).order_by("-requested_at")[:RECENT_REPORTS])
    return render(request, "web/report_list.html", {"reports": reports})


@require_http_methods(["GET", "POST"])
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Upload a PDF: is it exactly a report Preflight issued, which one, and do its facts still
    hold? Details only to someone who may see the report; others learn only that it was issued."""
    form = VerifyForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form}
    if request.method == "POST" and form.is_valid():
        check = report_verify(form.cleaned_data["file"].read())
        context["check"] = check
        context["visible"] = check.report is not None and report_visible_to(request.user, check.report)
    return render(request, "web/report_verify.html", context)
