"""Celery tasks of the reports: thin wrappers taking ids; safe to run twice."""

from celery import shared_task

from .services import report_render, reports_requeue_stalled


@shared_task(acks_late=True, reject_on_worker_lost=True)
def render_report(report_id: str) -> str:
    """Render the report (a ready one is left alone) and return its status."""
    return report_render(report_id).status


@shared_task
def requeue_stalled_reports() -> dict[str, int]:
    """Every minute under ``celery beat``: send reports whose render stalled to render again."""
    return reports_requeue_stalled()
