"""A stored report: asking again hands it back, and verify says its facts hold, only while the
launch is as it showed it (not once a Responsible is gone, the approvals expired or the launch is
archived) and only in the current layout; its fingerprint is of the facts the PDF draws; a row
rewritten in the database (its bytes and hash, or its fingerprint) no longer verifies; a failing
second render never downgrades a finished report, nor does the stalled sweep discard one; a viewer
never sees a render's internal error.

One module world: a launch whose first stage's sign-offs are all approved (READY), its launch report
rendered once, a viewer."""

import datetime
import hashlib
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import transaction
from django.urls import reverse

from raci.choices import AreaKind, Role
from raci.services import raci_set_roles
from readiness.checklist import evaluate, with_checklist_facts
from readiness.models import Launch
from readiness.services import fact_change, fact_version, launch_archive
from reports import rendering
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import (
    MAX_RENDER_ATTEMPTS,
    REPORT_LAYOUT,
    facts_fingerprint,
    report_render,
    report_request,
    report_verify,
    reports_requeue_stalled,
)
from tests.builders import approve_signoffs, ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view
from tests.reports.helpers import render

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world_ids(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        launch = ready_launch(owner=owner, slug="assistant")
        approve_signoffs(launch, launch.stages.order_by("order").first().name)
        viewer = give_view(UserFactory(username="vic"), launch)
        report = report_request(actor=owner, kind=ReportKind.LAUNCH, language="en", launch=launch, dispatch=False)
        rendered = render(report)
        assert "NOT READY" not in rendered.text and "READY" in rendered.text, rendered.pages[0]
        yield {"owner": owner.pk, "viewer": viewer.pk, "launch": launch.pk, "report": report.pk}
        transaction.set_rollback(True)


@pytest.fixture
def world(world_ids, django_user_model):
    return SimpleNamespace(
        owner=django_user_model.objects.get(pk=world_ids["owner"]),
        viewer=django_user_model.objects.get(pk=world_ids["viewer"]),
        launch=Launch.objects.get(pk=world_ids["launch"]),
        report=Report.objects.get(pk=world_ids["report"]),
    )


def ready_now(launch: Launch) -> bool:
    return evaluate(with_checklist_facts(Launch.objects.filter(pk=launch.pk)).get()).may_enter


def pdf_stand_in(html: str, **kwargs) -> bytes:
    """What a render stores in place of WeasyPrint's PDF, for the tests about the render's state and
    fingerprint rather than its drawing (the module's own report is drawn by WeasyPrint, and read):
    bytes of this document alone, so its SHA-256 finds it and no other."""
    return b"%PDF-1.7\n% the document drawn: " + hashlib.sha256(html.encode()).hexdigest().encode()


def ask_again(world) -> Report:
    return report_request(actor=world.owner, kind=ReportKind.LAUNCH, language="en", launch=world.launch, dispatch=False)


# --- a stored READY report once the facts changed ----------------------------------------------


def drop_responsibles(world) -> None:
    """Take every Responsible off the model-quality area through the RACI service: checklist item 3
    (Responsibilities (RACI), gating Internal) fails. The sign-off snapshot holds only the Accountables, and
    no ledger entry is written, so the report's fingerprint does not move."""
    area = world.launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    for assignment in area.assignments.filter(role=Role.RESPONSIBLE).select_related("stakeholder"):
        held = area.assignments.filter(stakeholder=assignment.stakeholder)
        raci_set_roles(
            actor=world.owner,
            area=area,
            stakeholder=assignment.stakeholder,
            roles=set(held.exclude(role=Role.RESPONSIBLE).values_list("role", flat=True)),
            seen_versions={a.pk: fact_version(a) for a in held},
        )


def test_asking_again_after_a_checklist_fact_is_removed_renders_afresh(world):
    """Asking again hands back the stored READY report of a launch that is NOT READY today."""
    drop_responsibles(world)
    assert not ready_now(world.launch)
    assert ask_again(world).pk != world.report.pk, "the stale READY report was returned again"


def test_verify_says_the_facts_no_longer_hold_once_a_checklist_fact_is_removed(world):
    drop_responsibles(world)
    assert not ready_now(world.launch)
    check = report_verify(bytes(world.report.pdf))
    assert check.report == world.report
    assert check.facts_hold is False, "verify says a READY report of a NOT READY launch still holds"


def test_verify_says_the_facts_no_longer_hold_once_the_approvals_expired(world, settings):
    """Freshness by age (SIGNOFF_MAX_AGE_DAYS) is not in the fingerprint either: approvals expire,
    the verdict turns NOT READY, and the old READY report still 'holds' and is served again."""
    settings.SIGNOFF_MAX_AGE_DAYS = 0
    assert not ready_now(world.launch)
    assert report_verify(bytes(world.report.pdf)).facts_hold is False
    assert ask_again(world).pk != world.report.pk


def test_asking_again_after_the_launch_is_archived_renders_afresh(world):
    """Archiving writes history but no ledger entry and is not in the snapshot: the READY report
    drawn before the archive is handed back, and verify says its facts still hold."""
    launch_archive(actor=world.owner, launch=world.launch, seen_version=fact_version(world.launch), reason="cancelled")
    assert not ready_now(world.launch)
    assert report_verify(bytes(world.report.pdf)).facts_hold is False
    assert ask_again(world).pk != world.report.pk


def test_the_stored_fingerprint_is_of_the_facts_the_pdf_shows(world):
    """The fingerprint is taken when the report is asked for, the PDF drawn when a worker gets to
    it: a fact changed in between is shown in the PDF but not covered by its fingerprint."""
    report = report_request(
        actor=world.viewer, kind=ReportKind.LAUNCH, language="en", launch=world.launch, dispatch=False
    )
    asset = world.launch.data_assets.order_by("pk").first()
    fact_change(
        actor=world.owner,
        fact=asset,
        seen_version=fact_version(asset),
        values={"retention_days": (asset.retention_days or 30) + 1},
    )
    with mock.patch.object(rendering, "html_to_pdf", pdf_stand_in):
        report = report_render(str(report.pk))
    today = facts_fingerprint(kind=ReportKind.LAUNCH, launch=world.launch, stage=None, user=world.viewer)
    assert report.facts_fingerprint == today, "the PDF shows today's facts under yesterday's fingerprint"


# --- a database operator rewriting a stored report ----------------------------------------------


def test_verify_rejects_a_pdf_and_hash_rewritten_in_the_database(world):
    forged = bytes(world.report.pdf) + b"\n% rewritten by an operator\n"
    Report.objects.filter(pk=world.report.pk).update(pdf=forged, sha256=hashlib.sha256(forged).hexdigest())
    check = report_verify(forged)
    assert check.report is None, "a forged PDF whose hash the operator rewrote is 'Issued by Preflight'"


def test_verify_rejects_a_fingerprint_rewritten_in_the_database(world):
    """An operator makes an old report 'hold' again by copying today's fingerprint into its row."""
    drop_responsibles(world)
    # the fix for the tests above makes the fingerprint move; the operator copies the new one in
    today = facts_fingerprint(kind=ReportKind.LAUNCH, launch=world.launch, stage=None, user=world.owner)
    Report.objects.filter(pk=world.report.pk).update(facts_fingerprint=today)
    check = report_verify(bytes(world.report.pdf))
    assert check.report is None or check.facts_hold is False, "a rewritten row is believed"


# --- racing renders and the sweeper ------------------------------------------------------------


def test_a_failing_second_render_does_not_turn_a_ready_report_failed(world):
    """The sweeper re-dispatched a slow render; the first worker finishes READY, the second one then
    fails (killed, out of memory, ...). Its FAILED update is not conditional on PENDING."""
    report = report_request(
        actor=world.viewer, kind=ReportKind.LAUNCH, language="en", launch=world.launch, dispatch=False
    )
    calls = []

    def second_worker_fails(html, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # the second worker starts while the first has not finished
            assert report_render(str(report.pk)).status == ReportStatus.READY
            raise MemoryError("worker 2 ran out of memory")
        return pdf_stand_in(html, **kwargs)

    with mock.patch.object(rendering, "html_to_pdf", second_worker_fails):
        after = report_render(str(report.pk))
    assert after.status == ReportStatus.READY, f"a READY report was turned {after.status}: {after.error}"
    assert report_verify(bytes(after.pdf)).report is not None


def test_the_sweeper_does_not_fail_a_report_whose_last_attempt_is_still_rendering(world, settings):
    """On its last attempt a slow render passes the timeout; the sweep marks it failed while the
    worker is still drawing, and the PDF the worker then produces is thrown away."""
    report = report_request(
        actor=world.viewer, kind=ReportKind.LAUNCH, language="en", launch=world.launch, dispatch=False
    )
    Report.objects.filter(pk=report.pk).update(attempts=MAX_RENDER_ATTEMPTS - 1)

    def slow(html, **kwargs):
        pdf = pdf_stand_in(html, **kwargs)
        started = Report.objects.get(pk=report.pk).started_at
        later = started + datetime.timedelta(seconds=settings.REPORT_RENDER_TIMEOUT_SECONDS + 1)
        reports_requeue_stalled(now=later)
        return pdf

    with mock.patch.object(rendering, "html_to_pdf", slow):
        after = report_render(str(report.pk))
    assert after.status == ReportStatus.READY, f"a rendered PDF was discarded: {after.status} {after.error}"


# --- what a viewer learns from a failed render ------------------------------------------------


def test_a_failed_render_does_not_show_internal_error_text_to_viewers(world, client):
    report = report_request(
        actor=world.owner, kind=ReportKind.LAUNCH, language="ko", launch=world.launch, dispatch=False
    )
    secret = "could not connect to server at 10.3.7.21:5432 as user preflight_rw"
    with mock.patch.object(rendering, "html_to_pdf", side_effect=RuntimeError(secret)):
        report_render(str(report.pk))
    client.force_login(world.viewer)
    page = client.get(reverse("web:report", args=[report.pk])).content.decode()
    assert secret not in page, "the exception text of the worker reaches every viewer of the launch"


# --- only in the current layout ---------------------------------------------------------------


def test_a_report_in_an_older_layout_is_not_returned_as_the_stored_one(world):
    launch, owner = world.launch, world.owner
    Report.objects.filter(launch=launch).delete()  # the module's report, in the current layout
    fingerprint = facts_fingerprint(kind="launch", launch=launch, stage=None, user=owner)
    old = Report.objects.create(
        kind="launch",
        launch=launch,
        language="en",
        requested_by=owner,
        facts_fingerprint=fingerprint,
        layout=REPORT_LAYOUT - 1,
        status=ReportStatus.READY,
        pdf=b"%PDF-1.7 old",
        sha256="0" * 64,
    )
    fresh = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
    assert fresh.pk != old.pk and fresh.layout == REPORT_LAYOUT
    again = report_request(actor=owner, kind="launch", language="en", launch=launch, dispatch=False)
    assert again.pk == fresh.pk  # the current layout's report is the stored one
