"""Reports in the web app: the launch page and the portfolio offer them, asking is a POST that
returns the stored report while the facts are unchanged, the status polls while pending and links
the download when ready, a failed or stalled render can be asked again, the download and the
verification page are refused (404) or discreet to whoever may not see the launch.

Two renders for the module (a launch report and a portfolio report); every other report here is
left pending or failed by hand."""

import datetime
import hashlib
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.services import signoffs_request
from readiness.models import Launch
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import (
    MAX_RENDER_ATTEMPTS,
    report_render,
    report_request,
    reports_requeue_stalled,
)
from reports.tasks import render_report
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(scope="module")
def world_ids(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        assistant = ready_launch(owner=owner, slug="assistant")
        search = ready_launch(owner=UserFactory(username="bo"), slug="search", name="Search <b>beta</b>")
        viewer = give_view(give_view(UserFactory(username="vic"), assistant), search)
        outsider = UserFactory(username="otto")
        report = report_request(actor=owner, kind=ReportKind.LAUNCH, language="en", launch=assistant)
        report_render(str(report.pk))
        portfolio = report_request(actor=owner, kind=ReportKind.PORTFOLIO, language="en")
        report_render(str(portfolio.pk))
        yield {
            "owner": owner.pk,
            "viewer": viewer.pk,
            "outsider": outsider.pk,
            "assistant": assistant.pk,
            "search": search.pk,
            "report": report.pk,
            "portfolio": portfolio.pk,
        }
        transaction.set_rollback(True)


@pytest.fixture
def world(world_ids, django_user_model):
    users = {name: django_user_model.objects.get(pk=world_ids[name]) for name in ("owner", "viewer", "outsider")}
    return SimpleNamespace(
        **users,
        assistant=Launch.objects.get(pk=world_ids["assistant"]),
        search=Launch.objects.get(pk=world_ids["search"]),
        report=Report.objects.get(pk=world_ids["report"]),
        portfolio=Report.objects.get(pk=world_ids["portfolio"]),
    )


def as_user(client, user):
    client.force_login(user)
    return client


def ask(client, launch, **data):
    return client.post(reverse("web:report-request", args=[launch.slug]), {"language": "en", **data}, **HTMX)


def pending_report(world, **fields) -> Report:
    """A report asked for and not rendered (the dispatch after commit never runs in a test)."""
    stage = world.assistant.stages.get(name="Internal")
    report = report_request(
        actor=world.owner, kind=ReportKind.CHECKLIST, language="en", launch=world.assistant, stage=stage
    )
    Report.objects.filter(pk=report.pk).update(**fields)
    return Report.objects.get(pk=report.pk)


# --- offered on the pages ----------------------------------------------------------------------


def test_the_launch_page_offers_the_launch_report_and_each_stage_s_checklist_in_its_language(client, world):
    url = reverse("web:launch", args=[world.assistant.slug])
    page = as_user(client, world.viewer).get(url).content.decode()
    assert f'hx-post="{reverse("web:report-request", args=[world.assistant.slug])}"' in page
    assert "Launch readiness report" in page
    for stage in world.assistant.stages.all():
        assert f"Checklist for {stage.name}" in page
        assert f'name="stage" value="{stage.pk}"' in page
    assert 'name="language" value="en"' in page
    client.cookies["django_language"] = "ko"
    korean = client.get(url).content.decode()
    assert 'name="language" value="ko"' in korean and 'name="language" value="en"' not in korean


def test_the_portfolio_offers_the_portfolio_report(client, world):
    page = as_user(client, world.viewer).get(reverse("web:portfolio")).content.decode()
    assert f'action="{reverse("web:portfolio-report")}"' in page
    assert reverse("web:report-verify") in page and reverse("web:reports") in page


# --- asking ------------------------------------------------------------------------------------


def test_asking_while_the_facts_are_unchanged_returns_the_stored_report(
    client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as dispatched:
        response = ask(as_user(client, world.owner), world.assistant, kind="launch")
    assert response.status_code == 200
    assert dispatched == []  # nothing to render
    assert Report.objects.filter(launch=world.assistant, kind=ReportKind.LAUNCH).count() == 1
    fragment = response.content.decode()
    assert reverse("web:report-download", args=[world.report.pk]) in fragment
    assert world.report.sha256 in fragment
    assert "every 2s" not in fragment  # ready: nothing to poll


def test_a_change_of_the_facts_gives_a_new_report_rendered_after_commit(
    client, world, django_capture_on_commit_callbacks
):
    signoffs_request(actor=world.owner, launch=world.assistant, stage=world.assistant.stages.get(name="Internal"))
    with django_capture_on_commit_callbacks() as dispatched:
        response = ask(as_user(client, world.owner), world.assistant, kind="launch")
    new = Report.objects.filter(launch=world.assistant, kind=ReportKind.LAUNCH).exclude(pk=world.report.pk).get()
    assert new.status == ReportStatus.PENDING and new.facts_fingerprint != world.report.facts_fingerprint
    assert len(dispatched) == 1
    fragment = response.content.decode()
    status_url = reverse("web:launch-report", args=[world.assistant.slug, str(new.pk)])
    assert f'hx-get="{status_url}"' in fragment and 'hx-trigger="every 2s"' in fragment
    assert "Being rendered" in fragment


def test_without_htmx_asking_leads_to_the_report_s_page(client, world):
    response = as_user(client, world.owner).post(
        reverse("web:report-request", args=[world.assistant.slug]), {"kind": "launch", "language": "en"}
    )
    assert response.status_code == 302 and response.url == reverse("web:report", args=[world.report.pk])
    page = client.get(response.url).content.decode()
    assert "Download the PDF" in page


def test_a_viewer_may_ask_and_an_outsider_is_told_nothing_exists(client, world):
    assert ask(as_user(client, world.viewer), world.assistant, kind="launch").status_code == 200
    assert Report.objects.filter(requested_by=world.viewer, launch=world.assistant).count() == 1
    assert ask(as_user(client, world.outsider), world.assistant, kind="launch").status_code == 404
    assert not Report.objects.filter(requested_by=world.outsider).exists()


def test_a_checklist_is_asked_for_one_of_the_launch_s_own_stages(client, world):
    stage = world.assistant.stages.get(name="Beta")
    as_user(client, world.owner)
    response = ask(client, world.assistant, kind="checklist", stage=stage.pk, language="ko")
    report = Report.objects.get(kind=ReportKind.CHECKLIST, requested_by=world.owner)
    assert (report.stage, report.language) == (stage, "ko")
    assert f'id="report-{report.pk}"' in response.content.decode()

    foreign = world.search.stages.get(name="Beta")
    refused = ask(client, world.assistant, kind="checklist", stage=foreign.pk).content.decode()
    assert "Name a stage of this launch for its checklist." in refused
    assert Report.objects.filter(kind=ReportKind.CHECKLIST).count() == 1

    response = client.post(
        reverse("web:report-request", args=[world.assistant.slug]), {"kind": "checklist", "stage": foreign.pk}
    )
    assert response.status_code == 302 and response.url.endswith("#reports")


def test_the_portfolio_report_is_asked_for_by_anyone_signed_in(client, world):
    response = as_user(client, world.outsider).post(reverse("web:portfolio-report"), {"language": "ko"}, **HTMX)
    assert response.status_code == 200
    report = Report.objects.get(requested_by=world.outsider)
    assert (report.kind, report.language, report.launch) == (ReportKind.PORTFOLIO, "ko", None)
    client.logout()
    assert client.post(reverse("web:portfolio-report")).status_code == 302  # to sign in
    assert Report.objects.filter(kind=ReportKind.PORTFOLIO).count() == 2


# --- status: pending, failed, stalled ------------------------------------------------------------


def test_a_pending_report_polls_until_it_is_ready(client, world):
    report = pending_report(world)
    url = reverse("web:launch-report", args=[world.assistant.slug, str(report.pk)])
    pending = as_user(client, world.viewer).get(url, **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in pending and "<html" not in pending
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.READY, pdf=b"%PDF-1.7 x", sha256="ab" * 32, finished_at=timezone.now()
    )
    ready = client.get(url, **HTMX).content.decode()
    assert "every 2s" not in ready and "hx-get" not in ready
    assert reverse("web:report-download", args=[report.pk]) in ready


def test_a_failed_render_says_so_without_the_internal_error_and_can_be_asked_again(client, world, monkeypatch):
    def broken(html, **kwargs):
        raise RuntimeError("no font for <script>x</script>")

    monkeypatch.setattr("reports.rendering.html_to_pdf", broken)
    report = pending_report(world)
    assert render_report(str(report.pk)) == ReportStatus.FAILED
    report.refresh_from_db()
    assert report.error == "RuntimeError" and report.pdf is None  # the detail is in the log only
    url = reverse("web:launch-report", args=[world.assistant.slug, str(report.pk)])
    fragment = as_user(client, world.owner).get(url, **HTMX).content.decode()
    assert "Failed" in fragment and "no font for" not in fragment and str(report.pk) in fragment
    assert "every 2s" not in fragment
    assert "Ask again" in fragment and f'name="stage" value="{report.stage_id}"' in fragment

    again = ask(client, world.assistant, kind="checklist", stage=report.stage_id)
    new = Report.objects.filter(kind=ReportKind.CHECKLIST).exclude(pk=report.pk).get()
    assert new.status == ReportStatus.PENDING and f'id="report-{new.pk}"' in again.content.decode()


def test_a_stalled_render_is_shown_as_such_and_asking_again_sends_it_again(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.REPORT_RENDER_TIMEOUT_SECONDS = 60
    started = timezone.now() - datetime.timedelta(seconds=61)
    report = pending_report(world, started_at=started, attempts=1)
    assert report.is_stalled()
    assert not pending_report(world, started_at=timezone.now()).is_stalled()
    Report.objects.filter(pk=report.pk).update(started_at=started)

    url = reverse("web:launch-report", args=[world.assistant.slug, str(report.pk)])
    fragment = as_user(client, world.owner).get(url, **HTMX).content.decode()
    assert "Stalled" in fragment and "Ask again" in fragment and "every 2s" not in fragment

    with django_capture_on_commit_callbacks() as dispatched:
        again = ask(client, world.assistant, kind="checklist", stage=report.stage_id)
    assert len(dispatched) == 1
    assert Report.objects.filter(kind=ReportKind.CHECKLIST).count() == 1  # the same report, sent again
    report.refresh_from_db()
    assert not report.is_stalled() and 'hx-trigger="every 2s"' in again.content.decode()


def test_the_sweep_sends_stalled_reports_again_and_gives_up_after_the_attempts(
    world, settings, django_capture_on_commit_callbacks
):
    settings.REPORT_RENDER_TIMEOUT_SECONDS = 60
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    stalled = pending_report(world, started_at=long_ago, attempts=1)
    never_picked_up = Report.objects.create(
        kind=ReportKind.LAUNCH, launch=world.assistant, language="ko", requested_by=world.viewer, requested_at=long_ago
    )
    fresh = Report.objects.create(kind=ReportKind.PORTFOLIO, language="en", requested_by=world.viewer)
    hopeless = Report.objects.create(
        kind=ReportKind.PORTFOLIO,
        language="ko",
        requested_by=world.viewer,
        started_at=long_ago,
        attempts=MAX_RENDER_ATTEMPTS,
    )
    with django_capture_on_commit_callbacks() as dispatched:
        assert reports_requeue_stalled() == {"requeued": 2, "failed": 1}
    assert len(dispatched) == 2
    for report in (stalled, never_picked_up, fresh):
        report.refresh_from_db()
        assert report.status == ReportStatus.PENDING and not report.is_stalled()
    hopeless.refresh_from_db()
    assert hopeless.status == ReportStatus.FAILED and "3 attempts" in hopeless.error
    with django_capture_on_commit_callbacks() as dispatched:
        assert reports_requeue_stalled() == {"requeued": 0, "failed": 0}  # not again until the timeout
    assert dispatched == []


def test_the_sweep_is_on_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["requeue-stalled-reports"]["task"] == "reports.tasks.requeue_stalled_reports"


# --- reading and downloading ------------------------------------------------------------------


def test_the_owner_and_a_viewer_download_the_pdf_as_issued(client, world, django_assert_max_num_queries):
    url = reverse("web:report-download", args=[world.report.pk])
    for user in (world.owner, world.viewer):
        as_user(client, user)
        with django_assert_max_num_queries(8):
            response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        day = timezone.localdate(world.report.finished_at).isoformat()
        assert response["Content-Disposition"] == f'attachment; filename="assistant-readiness-{day}.pdf"'
        assert response["X-Report-SHA256"] == world.report.sha256 == hashlib.sha256(response.content).hexdigest()
        assert response.content.startswith(b"%PDF-")


def test_an_outsider_gets_404_for_a_launch_s_report_and_its_status(client, world):
    as_user(client, world.outsider)
    assert client.get(reverse("web:report-download", args=[world.report.pk])).status_code == 404
    assert client.get(reverse("web:report", args=[world.report.pk])).status_code == 404
    launch_url = reverse("web:launch-report", args=[world.assistant.slug, str(world.report.pk)])
    assert client.get(launch_url).status_code == 404
    client.logout()
    assert client.get(reverse("web:report-download", args=[world.report.pk])).status_code == 302


def test_a_report_under_another_launch_s_url_is_404(client, world):
    as_user(client, world.viewer)  # who sees both launches
    right = reverse("web:launch-report", args=[world.assistant.slug, str(world.report.pk)])
    wrong = reverse("web:launch-report", args=[world.search.slug, str(world.report.pk)])
    assert client.get(right).status_code == 200
    assert client.get(wrong).status_code == 404
    assert client.get(reverse("web:launch-report", args=[world.assistant.slug, "not-a-uuid"])).status_code == 404


def test_a_portfolio_report_is_only_for_the_person_who_asked_for_it(client, world):
    url = reverse("web:report-download", args=[world.portfolio.pk])
    response = as_user(client, world.owner).get(url)
    assert response.status_code == 200
    assert 'filename="portfolio-readiness-' in response["Content-Disposition"]
    for other in (world.viewer, world.outsider):
        assert as_user(client, other).get(url).status_code == 404
        assert client.get(reverse("web:report", args=[world.portfolio.pk])).status_code == 404


def test_a_report_not_ready_is_not_downloaded(client, world):
    report = pending_report(world)
    response = as_user(client, world.owner).get(reverse("web:report-download", args=[report.pk]))
    assert response.status_code == 302 and response.url == reverse("web:report", args=[report.pk])


def test_my_reports_lists_only_mine(client, world, django_assert_max_num_queries):
    as_user(client, world.owner)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("web:reports")).content.decode()
    assert reverse("web:report-download", args=[world.report.pk]) in page
    assert reverse("web:report-download", args=[world.portfolio.pk]) in page
    other = as_user(client, world.viewer).get(reverse("web:reports")).content.decode()
    assert str(world.report.pk) not in other and "You have not asked for a report yet." in other


# --- verifying an upload -----------------------------------------------------------------------


def upload(client, data: bytes, name: str = "report.pdf"):
    return client.post(reverse("web:report-verify"), {"file": SimpleUploadedFile(name, data, "application/pdf")})


def issued_pdf(world) -> bytes:
    return bytes(Report.objects.values_list("pdf", flat=True).get(pk=world.report.pk))


def test_an_issued_file_is_recognised_with_what_it_covers(client, world):
    page = upload(as_user(client, world.viewer), issued_pdf(world)).content.decode()
    assert "Issued by Preflight" in page and "Its facts still hold today." in page
    assert str(world.report.pk) in page and world.report.facts_fingerprint in page
    assert world.assistant.name in page and "Pam Okafor" in page


def test_a_file_changed_by_one_byte_is_not_recognised(client, world):
    data = bytearray(issued_pdf(world))
    data[len(data) // 2] ^= 0x01
    page = upload(as_user(client, world.owner), bytes(data)).content.decode()
    assert "Not issued by Preflight" in page and str(world.report.pk) not in page
    assert hashlib.sha256(bytes(data)).hexdigest() in page


def test_a_file_that_is_not_a_pdf_is_refused_with_a_reason(client, world):
    page = upload(as_user(client, world.owner), b"GIF89a not a report", "photo.pdf").content.decode()
    assert "This file is not a PDF." in page and "Issued by Preflight" not in page


def test_facts_changed_since_are_said(client, world):
    signoffs_request(actor=world.owner, launch=world.assistant, stage=world.assistant.stages.get(name="Internal"))
    page = upload(as_user(client, world.owner), issued_pdf(world)).content.decode()
    assert "Issued by Preflight" in page and "The facts have changed since it was issued" in page


def test_someone_who_may_not_see_the_launch_learns_only_that_it_was_issued(client, world):
    page = upload(as_user(client, world.outsider), issued_pdf(world)).content.decode()
    assert "Issued by Preflight, about a launch you cannot see." in page
    for detail in (world.assistant.name, world.assistant.slug, str(world.report.pk), world.report.facts_fingerprint):
        assert detail not in page
    assert "Pam Okafor" not in page
    assert "Its facts still hold today." not in page and "The facts have changed" not in page


def test_verifying_needs_a_signed_in_person(client, world):
    response = upload(client, issued_pdf(world))
    assert response.status_code == 302 and "sign-in" in response.url


def test_a_broker_down_leaves_the_report_pending_for_the_sweep(world, monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(render_report, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(actor=world.viewer, kind=ReportKind.PORTFOLIO, language="en")
    assert _status_of(report) == ReportStatus.PENDING


def _status_of(report: Report) -> str:
    return Report.objects.values_list("status", flat=True).get(pk=report.pk)


def test_the_admin_shows_reports_read_only_without_their_bytes(superuser_client, world):
    from tests.helpers import admin_url

    assert superuser_client.get(admin_url(Report, "changelist")).status_code == 200
    page = superuser_client.get(admin_url(Report, "change", world.report.pk))
    assert page.status_code == 200 and world.report.sha256 in page.content.decode()
    assert b"%PDF" not in page.content
