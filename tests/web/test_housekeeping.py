"""Housekeeping deletes what has served its time — expired sessions, old sign-in records, sent
outbox messages, old reports' PDFs — after each one's retention, keeps what is recent or still
needed, and leaves the ledger verifying. Time moves with time-machine: every row is written by the
code that writes it in production, on the day it says."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.urls import reverse

from approvals.services import signoffs_request
from config import settings as project_settings
from ledger.verification import verify
from notifications.choices import OutboxStatus
from notifications.models import Notification, OutboxMessage
from notifications.outbox import deliver_outbox
from readiness.services import fact_version
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from reports.services import report_render, report_request, report_verify
from tests.builders import ready_launch
from tests.factories import UserFactory
from web.housekeeping import housekeeping
from web.tasks import housekeeping as housekeeping_task

pytestmark = pytest.mark.django_db

DAY_0 = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
PASSWORD = "a-long-test-password-41"


def day(n: int) -> datetime.datetime:
    return DAY_0 + datetime.timedelta(days=n)


@pytest.fixture
def owner():
    person = UserFactory(username="pam")
    person.set_password(PASSWORD)
    person.save()
    return person


@pytest.fixture
def launch(owner):
    with time_machine.travel(DAY_0, tick=False):
        return ready_launch(owner=owner)


def sign_in(client, owner, *, wrong_first: bool) -> None:
    if wrong_first:
        client.post(reverse("web:sign-in"), {"username": owner.username, "password": "not-it"})
    client.post(reverse("web:sign-in"), {"username": owner.username, "password": PASSWORD})


def ask_and_deliver(launch, owner, stage_name: str) -> list[int]:
    """The owner asks for a stage's sign-offs; the outbox sends the mail. Returns the messages."""
    before = set(OutboxMessage.objects.values_list("pk", flat=True))
    signoffs_request(actor=owner, launch=launch, stage=launch.stages.get(name=stage_name))
    deliver_outbox()
    return sorted(set(OutboxMessage.objects.values_list("pk", flat=True)) - before)


def rendered_report(launch, owner, language: str = "en") -> Report:
    report = report_request(actor=owner, kind=ReportKind.LAUNCH, language=language, launch=launch, dispatch=False)
    return report_render(report.pk)


def test_old_rows_go_and_recent_and_still_needed_rows_stay_and_the_ledger_verifies(
    client, django_capture_on_commit_callbacks, launch, owner
):
    with time_machine.travel(day(0), tick=False):
        sign_in(client, owner, wrong_first=True)  # a failure, a sign-in and a session
        old_messages = ask_and_deliver(launch, owner, "Internal")
        old_report = rendered_report(launch, owner)
        old_pdf = bytes(Report.objects.get(pk=old_report.pk).pdf)
        pending = OutboxMessage.objects.get(pk=old_messages[0])
        failed = OutboxMessage.objects.get(pk=old_messages[1])
    OutboxMessage.objects.filter(pk=pending.pk).update(status=OutboxStatus.PENDING, sent_at=None)
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxStatus.FAILED, sent_at=None)
    with time_machine.travel(day(80), tick=False):
        client.logout()
        sign_in(client, owner, wrong_first=True)
        recent_messages = ask_and_deliver(launch, owner, "Beta")
        recent_report = rendered_report(launch, owner, language="ko")
    assert len(old_messages) > 2 and recent_messages
    assert AccessLog.objects.count() == 2
    all_messages = set(OutboxMessage.objects.values_list("pk", flat=True))
    old_sent = set(OutboxMessage.objects.filter(status=OutboxStatus.SENT, sent_at=day(0)).values_list("pk", flat=True))
    assert old_sent == set(old_messages) - {pending.pk, failed.pk}
    sessions = Session.objects.count()
    notices = Notification.objects.count()
    entries_before = verify()
    assert entries_before.ok

    with time_machine.travel(day(95), tick=False):
        counts = housekeeping()

    # Outbox: sent 95 days ago gone; sent 15 days ago, pending and failed kept; the notices all kept.
    # (The "report ready" mails, never delivered here, are pending too.)
    assert counts["outbox messages"] == len(old_sent)
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == all_messages - old_sent
    assert {pending.pk, failed.pk, *recent_messages} <= all_messages - old_sent
    assert Notification.objects.count() == notices
    # Sign-in records: those of day 0 gone (older than 90 days), those of day 80 kept.
    assert counts["sign-ins"] == 1
    assert list(AccessLog.objects.values_list("attempt_time", flat=True)) == [day(80)]
    # Sessions: day 0's ended when Pam signed out on day 80; day 80's expired on day 94.
    assert counts["sessions"] == sessions
    assert not Session.objects.filter(expire_date__lt=day(95)).exists()
    # Reports: day 0's PDF gone, its record kept with hash and seal; day 80's untouched.
    old_report.refresh_from_db()
    recent_report.refresh_from_db()
    assert counts["report PDFs"] == 1
    assert (old_report.status, old_report.pdf, old_report.sha256) == (ReportStatus.EXPIRED, None, old_report.sha256)
    assert old_report.sha256 and old_report.seal
    assert recent_report.status == ReportStatus.READY and recent_report.pdf
    check = report_verify(old_pdf)  # a copy downloaded on day 0 still verifies
    assert check.report is not None and check.report.pk == old_report.pk
    # Nothing the ledger refers to went: it verifies, with every entry it had.
    after = verify(expected_head=entries_before.head_hash)
    assert after.ok and after.checked == entries_before.checked
    out = StringIO()
    call_command("verify_ledger", "--head", entries_before.head_hash, stdout=out)  # exits 1 if not
    assert out.getvalue().startswith(f"Ledger intact: {entries_before.checked} entries")

    with time_machine.travel(day(95), tick=False):
        assert set(housekeeping().values()) == {0}  # twice: nothing more to do


def test_a_session_still_valid_is_kept(client, owner):
    with time_machine.travel(day(0), tick=False):
        sign_in(client, owner, wrong_first=False)
    with time_machine.travel(day(13), tick=False):
        assert housekeeping()["sessions"] == 0
    assert Session.objects.count() == 1
    with time_machine.travel(day(15), tick=False):
        assert housekeeping()["sessions"] == 1
    assert Session.objects.count() == 0


def test_a_failed_sign_in_never_followed_by_another_is_forgotten_after_its_retention(settings, client, owner):
    """django-axes forgets a failure once a later sign-in succeeds, or when another sign-in comes by
    after the cool-off; one from an address never seen again, with nobody signing in after it,
    stays until housekeeping."""
    settings.LOGIN_ATTEMPT_RETENTION_DAYS = 5
    with time_machine.travel(day(0), tick=False):
        client.post(reverse("web:sign-in"), {"username": "pam", "password": "guess"}, REMOTE_ADDR="10.0.0.9")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["10.0.0.9"]
    with time_machine.travel(day(4), tick=False):
        assert housekeeping()["sign-in attempts"] == 0
    assert AccessAttempt.objects.count() == 1
    with time_machine.travel(day(6), tick=False):
        assert housekeeping()["sign-in attempts"] == 1
    assert AccessAttempt.objects.count() == 0


def test_zero_days_keeps_sign_in_records_messages_and_pdfs_for_ever(settings, client, launch, owner):
    settings.LOGIN_ATTEMPT_RETENTION_DAYS = settings.OUTBOX_RETENTION_DAYS = settings.REPORT_PDF_RETENTION_DAYS = 0
    with time_machine.travel(day(0), tick=False):
        sign_in(client, owner, wrong_first=True)
        messages = ask_and_deliver(launch, owner, "Internal")
        report = rendered_report(launch, owner)
    with time_machine.travel(day(3650), tick=False):
        counts = housekeeping()
    assert counts == {
        "sessions": 1,
        "sign-in attempts": 0,
        "sign-ins": 0,
        "sign-in failures": 0,
        "outbox messages": 0,
        "report PDFs": 0,
        "form submissions": 0,  # hours, never 0: none were sent here
    }
    assert OutboxMessage.objects.filter(pk__in=messages).count() == len(messages)
    assert AccessLog.objects.count() == 1
    assert Report.objects.get(pk=report.pk).status == ReportStatus.READY


def test_a_shorter_retention_takes_more(settings, launch, owner):
    settings.OUTBOX_RETENTION_DAYS = 7
    settings.REPORT_PDF_RETENTION_DAYS = 7
    with time_machine.travel(day(0), tick=False):
        messages = ask_and_deliver(launch, owner, "Internal")
        report = rendered_report(launch, owner)
    with time_machine.travel(day(6), tick=False):
        assert housekeeping()["outbox messages"] == 0
    with time_machine.travel(day(8), tick=False):
        counts = housekeeping()
    assert counts["outbox messages"] == len(messages) and counts["report PDFs"] == 1
    assert Report.objects.get(pk=report.pk).status == ReportStatus.EXPIRED


def test_an_expired_report_says_so_and_asking_again_renders_it_anew(
    client, django_capture_on_commit_callbacks, launch, owner
):
    with time_machine.travel(day(0), tick=False):
        report = rendered_report(launch, owner)
    with time_machine.travel(day(91), tick=False):
        housekeeping()
    client.force_login(owner)
    page = client.get(reverse("web:report", args=[report.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "PDF expired" in text and "Ask again" in text and report.sha256 in text
    assert "Its PDF was deleted 90 days after it was rendered" in text
    download = client.get(reverse("web:report-download", args=[report.pk]))
    assert download.status_code == 302 and download["Location"] == reverse("web:report", args=[report.pk])
    listing = client.get(reverse("web:reports")).content.decode()
    assert "PDF expired" in listing
    # Asking again, as the page's form posts, renders a new report (in-process here).
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("web:report-request", args=[launch.slug]), {"kind": "launch", "language": "en"})
    assert again.status_code == 302
    fresh = Report.objects.exclude(pk=report.pk).get()
    assert fresh.status == ReportStatus.READY and fresh.pdf
    assert Report.objects.get(pk=report.pk).status == ReportStatus.EXPIRED


def test_an_expired_report_is_never_rendered_back_into_its_old_record(launch, owner):
    with time_machine.travel(day(0), tick=False):
        report = rendered_report(launch, owner)
    with time_machine.travel(day(91), tick=False):
        housekeeping()
    assert report_render(report.pk).status == ReportStatus.EXPIRED
    assert Report.objects.get(pk=report.pk).pdf is None


def test_an_expired_report_page_is_in_korean_for_a_korean_reader(client, launch, owner):
    with time_machine.travel(day(0), tick=False):
        report = rendered_report(launch, owner)
    with time_machine.travel(day(91), tick=False):
        housekeeping()
    client.force_login(owner)
    text = client.get(reverse("web:report", args=[report.pk]), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "PDF expired" not in text and "PDF 만료됨" in text


def test_the_command_and_the_task_run_the_same_housekeeping(launch, owner):
    with time_machine.travel(day(0), tick=False):
        messages = ask_and_deliver(launch, owner, "Internal")
    out = StringIO()
    with time_machine.travel(day(31), tick=False):
        call_command("housekeeping", stdout=out)
    assert f"outbox messages: {len(messages)} deleted" in out.getvalue().splitlines()
    assert OutboxMessage.objects.count() == 0
    assert housekeeping_task.delay().get() == dict.fromkeys(
        [
            "sessions",
            "sign-in attempts",
            "sign-ins",
            "sign-in failures",
            "outbox messages",
            "report PDFs",
            "form submissions",
        ],
        0,
    )


def test_beat_runs_housekeeping_daily_at_the_configured_hour():
    entry = project_settings.CELERY_BEAT_SCHEDULE["housekeeping"]
    assert entry["task"] == "web.tasks.housekeeping" == housekeeping_task.name
    assert entry["schedule"].hour == {project_settings.HOUSEKEEPING_HOUR}


def test_a_submission_s_stored_answer_goes_after_its_retention_and_not_before(launch, owner, client, settings):
    """A form sent again within SUBMISSION_RETENTION_HOURS answers as the first time did; after it,
    its stored answer is deleted (and a form sent again then is a new submission)."""
    from web.models import Submission

    settings.SUBMISSION_RETENTION_HOURS = 48
    client.force_login(owner)
    with time_machine.travel(day(0), tick=False):
        response = client.post(
            reverse("web:archive-launch", args=[launch.slug]),
            {"seen_version": fact_version(launch), "reason": "Cancelled.", "submission": "k" * 32},
        )
    assert response.status_code == 302
    assert Submission.objects.count() == 1
    with time_machine.travel(day(0) + datetime.timedelta(hours=47), tick=False):
        assert housekeeping()["form submissions"] == 0
    assert Submission.objects.count() == 1
    with time_machine.travel(day(0) + datetime.timedelta(hours=49), tick=False):
        assert housekeeping()["form submissions"] == 1
    assert not Submission.objects.exists()
