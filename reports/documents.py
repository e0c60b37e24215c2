"""What each kind of report shows: the context its template is rendered with, in the report's
language. Reads through the domain's selectors, like the web pages."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation

from readiness.access import visible_launches
from readiness.checklist import evaluate, evaluate_many, with_checklist_facts
from readiness.models import Launch

from .choices import ReportKind
from .models import Report

TEMPLATES = {
    ReportKind.LAUNCH: "reports/launch.html",
    ReportKind.CHECKLIST: "reports/checklist.html",
    ReportKind.PORTFOLIO: "reports/portfolio.html",
}


def launch_with_facts(launch_id: int) -> Launch:
    return with_checklist_facts(Launch.objects.filter(pk=launch_id).select_related("owner")).get()


def document_html(report: Report) -> str:
    """The report's HTML, in its language, as of now."""
    with translation.override(report.language):
        context = {"report": report, "generated_at": timezone.now()}
        if report.kind == ReportKind.PORTFOLIO:
            launches = visible_launches(report.requested_by).filter(archived=False).order_by("name", "pk")
            context["entries"] = [(r.launch, r) for r in evaluate_many(launches)]
        else:
            launch = launch_with_facts(report.launch_id)
            stage = next((s for s in launch.stages.all() if s.pk == report.stage_id), None) if report.stage_id else None
            context.update(launch=launch, readiness=evaluate(launch, stage, ignore_order=stage is not None))
        return render_to_string(TEMPLATES[report.kind], context)
