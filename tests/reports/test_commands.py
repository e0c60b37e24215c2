"""The reports from the shell: `readiness_report` writes the same PDFs as the web app (rendered
there and then, as a named person), `verify_report` checks a file against the record with exit
codes a script can use. Three renders for the module, made once."""

import datetime
import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from approvals.services import signoffs_request
from raci.services import language_set
from readiness.models import Launch
from reports.choices import ReportKind, ReportStatus
from reports.models import Report
from tests.builders import ready_launch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    files = tmp_path_factory.mktemp("reports")
    with django_db_blocker.unblock(), transaction.atomic():
        owner = UserFactory(username="pam", first_name="Pam", last_name="Okafor")
        launch = ready_launch(owner=owner, slug="assistant")
        UserFactory(username="otto")
        executive = UserFactory(username="eve", is_superuser=True)
        language_set(actor=executive, language="ko")
        outputs = {
            "launch": run("readiness_report", "assistant", "-o", str(files / "launch.pdf")),
            "checklist": run("readiness_report", "assistant", "--checklist", "beta", "-o", str(files / "beta.pdf")),
            "portfolio": run("readiness_report", "--portfolio", "--user", "eve", "-o", str(files / "portfolio.pdf")),
        }
        yield {"launch": launch.pk, "files": files, "outputs": outputs, "owner": owner.pk}
        transaction.set_rollback(True)


def report_of(path) -> Report:
    return Report.objects.get(sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def test_the_launch_report_is_written_as_its_owner_in_their_language(world):
    path = world["files"] / "launch.pdf"
    report = report_of(path)
    assert (report.kind, report.launch_id, report.requested_by_id) == (
        ReportKind.LAUNCH,
        world["launch"],
        world["owner"],
    )
    assert report.language == "en" and report.status == ReportStatus.READY
    assert path.read_bytes().startswith(b"%PDF-")
    assert f"{report.pk}, SHA-256 {report.sha256}" in world["outputs"]["launch"]


def test_a_stage_checklist_is_written_for_the_stage_named(world):
    report = report_of(world["files"] / "beta.pdf")
    assert report.kind == ReportKind.CHECKLIST and report.stage.name == "Beta"


def test_the_portfolio_report_is_the_named_person_s_in_their_chosen_language(world):
    report = report_of(world["files"] / "portfolio.pdf")
    assert (report.kind, report.requested_by.username, report.language) == (ReportKind.PORTFOLIO, "eve", "ko")


def test_asking_again_while_the_facts_hold_writes_the_stored_report(world, tmp_path):
    again = tmp_path / "again.pdf"
    run("readiness_report", "assistant", "-o", str(again))
    assert again.read_bytes() == (world["files"] / "launch.pdf").read_bytes()
    assert Report.objects.filter(kind=ReportKind.LAUNCH).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "No launch 'nowhere'."),
        (["assistant", "--checklist", "Moon"], "has no stage 'Moon' (its stages: Internal, Beta, Full)"),
        (["assistant", "--user", "nobody"], "No active user 'nobody'."),
        (["assistant", "--user", "otto"], "otto may not see launch 'assistant'."),
        (["--portfolio"], "name them with --user"),
        (["assistant", "--portfolio", "--user", "eve"], "not both"),
        ([], "not both"),
    ],
)
def test_unknown_launches_stages_and_people_exit_2_and_write_nothing(world, tmp_path, args, message):
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError) as error:
        run("readiness_report", *args, "-o", str(out))
    assert error.value.returncode == 2 and message in str(error.value)
    assert not out.exists()


def test_a_failed_render_exits_1(world, tmp_path, monkeypatch):
    def broken(html, **kwargs):
        raise RuntimeError("out of paper")

    monkeypatch.setattr("reports.rendering.html_to_pdf", broken)
    with pytest.raises(CommandError) as error:
        run("readiness_report", "assistant", "--lang", "ko", "-o", str(tmp_path / "x.pdf"))
    assert error.value.returncode == 1 and "failed: RuntimeError" in str(error.value)  # the detail is logged
    assert Report.objects.get(language="ko", kind=ReportKind.LAUNCH).status == ReportStatus.FAILED


# --- verify_report ------------------------------------------------------------------------------


def test_an_issued_file_whose_facts_hold_exits_0_saying_what_it_covers(world):
    path = world["files"] / "beta.pdf"
    report = report_of(path)
    output = run("verify_report", str(path))
    for line in (
        "Issued by Preflight.",
        f"Report:       {report.pk}",
        "Kind:         checklist",
        "Launch:       assistant (Support assistant)",
        "Stage:        Beta",
        "Language:     en",
        "Asked for by: pam (Pam Okafor)",
        f"Facts:        {report.facts_fingerprint}",
        f"Ledger head:  {report.ledger_head}",
        "The facts it shows still hold today.",
    ):
        assert line in output


def test_an_issued_file_whose_facts_changed_exits_1(world):
    launch = Launch.objects.get(pk=world["launch"])
    signoffs_request(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"))
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("verify_report", str(world["files"] / "launch.pdf"), stdout=out)
    assert exited.value.code == 1
    assert "Issued by Preflight." in out.getvalue() and "The facts have changed since it was issued" in out.getvalue()


def test_a_file_changed_by_one_byte_exits_2(world, tmp_path):
    data = bytearray((world["files"] / "launch.pdf").read_bytes())
    data[-20] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    with pytest.raises(CommandError) as error:
        run("verify_report", str(changed))
    assert error.value.returncode == 2 and "Not issued by Preflight" in str(error.value)


def test_an_unreadable_file_exits_2(world, tmp_path):
    with pytest.raises(CommandError) as error:
        run("verify_report", str(tmp_path / "missing.pdf"))
    assert error.value.returncode == 2 and "Cannot read" in str(error.value)


def test_requeue_stalled_reports_does_by_hand_what_the_periodic_task_does(world, settings):
    settings.REPORT_RENDER_TIMEOUT_SECONDS = 60
    launch = Launch.objects.get(pk=world["launch"])
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    stalled = Report.objects.create(
        kind=ReportKind.LAUNCH, launch=launch, language="ko", requested_by=launch.owner, requested_at=long_ago
    )
    assert "1 sent to render again, 0 failed." in run("requeue_stalled_reports")
    stalled.refresh_from_db()
    assert stalled.status == ReportStatus.PENDING and not stalled.is_stalled()
    assert "0 sent to render again, 0 failed." in run("requeue_stalled_reports")
