"""Recertification (issue 11, point 6): every day each launch in a stage is judged against the stage
it is in. A lapse and a restoration are each ledgered once, the owner is told of a lapse once, a
second run records nothing, archived launches and launches in planning are left alone, and a run
over many launches costs what a run over one does."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from approvals.choices import NotificationEvent
from approvals.models import StageStanding
from approvals.recertification import SYSTEM, recertify
from approvals.services import stage_advance
from approvals.tasks import recertify_launches
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from notifications.events import describe
from notifications.models import Notification, OutboxMessage
from readiness.models import Launch
from readiness.services import fact_version, launch_archive, launch_change
from tests.builders import SERVING_VERSION, approve_signoffs, launch_at, ready_launch
from tests.ledger.helpers import verify_ledger

pytestmark = pytest.mark.django_db


def set_version(launch, version: str) -> None:
    launch_change(
        actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"serving_version": version}
    )


def entries(event: str) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(event=event).order_by("sequence"))


def lapse_notices(launch) -> list[Notification]:
    return list(Notification.objects.filter(event=NotificationEvent.STAGE_LAPSED, launch=launch))


@pytest.fixture(scope="module")
def shared_launched(module_transaction) -> int:
    """A ready launch in Internal, built once per module."""
    return launch_at("Internal").pk


@pytest.fixture
def launched(shared_launched, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launched)


def test_a_launch_whose_stage_holds_is_stored_as_holding_and_nothing_is_ledgered(launched):
    before = LedgerEntry.objects.count()
    assert recertify() == []
    standing = StageStanding.objects.get(launch=launched)
    assert (standing.stage.name, standing.holds, standing.reasons) == ("Internal", True, [])
    assert LedgerEntry.objects.count() == before
    assert lapse_notices(launched) == []


def test_approvals_expiring_make_the_stage_lapse_once_with_its_reasons_and_the_owner_told_once(launched):
    later = timezone.now() + datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS + 1)
    with time_machine.travel(later, tick=False):
        assert recertify_launches.delay().get() == 1  # beat's task: one launch changed
        assert recertify() == []  # and again the same day: nothing new
    [lapse] = entries(LedgerEvent.STAGE_LAPSED)
    assert lapse.actor == SYSTEM.username
    assert lapse.payload["stage"] == "Internal"
    assert "stakeholders_approved" in lapse.payload["reasons"]
    standing = StageStanding.objects.get(launch=launched)
    assert not standing.holds and standing.reasons == lapse.payload["reasons"]
    assert standing.since == later
    [notice] = lapse_notices(launched)
    assert notice.recipient == launched.owner
    assert OutboxMessage.objects.filter(event=NotificationEvent.STAGE_LAPSED, recipient=launched.owner).count() == 1
    assert verify_ledger()[0] == 0


def test_running_twice_a_day_records_nothing_new(launched):
    set_version(launched, "prompt-v8")
    first = recertify()
    assert [c.holds for c in first] == [False]
    ledger_size, notices = LedgerEntry.objects.count(), Notification.objects.count()
    later = timezone.now() + datetime.timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        assert recertify() == []
    assert (LedgerEntry.objects.count(), Notification.objects.count()) == (ledger_size, notices)
    assert StageStanding.objects.get(launch=launched).checked_at == later  # looked at again, all the same


def test_a_lapsed_stage_that_holds_again_is_restored_in_the_ledger_without_a_notice(launched):
    set_version(launched, "prompt-v8")
    recertify()
    set_version(launched, SERVING_VERSION)  # back to the version approved and evaluated
    [change] = recertify()
    assert (change.stage, change.holds, change.reasons) == ("Internal", True, ())
    [restored] = entries(LedgerEvent.STAGE_RESTORED)
    assert restored.payload == {"stage": "Internal"}
    assert StageStanding.objects.get(launch=launched).holds
    assert len(lapse_notices(launched)) == 1  # the lapse, not the restoration
    assert verify_ledger()[0] == 0


def test_a_second_lapse_is_news_again(launched):
    set_version(launched, "prompt-v8")
    recertify()
    set_version(launched, SERVING_VERSION)
    recertify()
    set_version(launched, "prompt-v9")
    recertify()
    assert len(entries(LedgerEvent.STAGE_LAPSED)) == 2
    assert len(lapse_notices(launched)) == 2


def test_more_reasons_on_a_lapsed_stage_update_the_standing_without_a_new_entry(launched):
    set_version(launched, "prompt-v8")
    recertify()
    reasons = StageStanding.objects.get(launch=launched).reasons
    later = timezone.now() + datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS + 1)
    with time_machine.travel(later, tick=False):
        assert recertify() == []
    standing = StageStanding.objects.get(launch=launched)
    assert not standing.holds and set(standing.reasons) >= set(reasons)
    assert len(entries(LedgerEvent.STAGE_LAPSED)) == 1


def test_archived_launches_and_launches_in_planning_are_skipped(launched):
    planning = ready_launch(slug="planning", name="Still planning")
    set_version(launched, "prompt-v8")
    launch_archive(actor=launched.owner, launch=launched, seen_version=fact_version(launched), reason="Retired")
    assert recertify() == []
    assert not StageStanding.objects.filter(launch__in=[launched, planning]).exists()
    assert entries(LedgerEvent.STAGE_LAPSED) == []


def test_a_launch_moved_to_another_stage_is_judged_for_that_stage(launched):
    launch = launched
    recertify()
    approve_signoffs(launch, "Beta")
    stage_advance(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Beta"))
    assert recertify() == []
    standing = StageStanding.objects.get(launch=launch)
    assert (standing.stage.name, standing.holds) == ("Beta", True)


def test_a_run_over_many_unchanged_launches_costs_what_a_run_over_one_does(launched):
    recertify()
    with CaptureQueriesContext(connection) as one:
        recertify()
    launch_at("Internal", slug="two", name="Two")
    launch_at("Internal", slug="three", name="Three")
    recertify()
    with CaptureQueriesContext(connection) as three:
        recertify()
    assert len(three) == len(one)


def test_the_command_prints_what_changed_and_then_that_nothing_did(launched):
    set_version(launched, "prompt-v8")
    out = io.StringIO()
    call_command("recertify", stdout=out)
    assert f"{launched.slug}: Internal no longer holds" in out.getvalue()
    assert "1 changed; 1 launches are in a stage that no longer holds." in out.getvalue()
    out = io.StringIO()
    call_command("recertify", stdout=out)
    assert out.getvalue().strip() == "Nothing changed; 1 launches are in a stage that no longer holds."


def test_the_lapse_notice_names_the_stage_and_the_items_in_english_and_korean():
    payload = {
        "launch": "Support assistant",
        "stage": "Beta",
        "reasons": ["stakeholders_approved", "quality_evidence"],
        "count": 2,
    }
    _, [line] = describe(NotificationEvent.STAGE_LAPSED, payload)
    assert line == (
        "Support assistant is in Beta, but the stage no longer holds: 2 reasons "
        "(Stakeholder approvals; Quality evidence)."
    )
    with translation.override("ko"):
        _, [korean] = describe(NotificationEvent.STAGE_LAPSED, payload)
    assert "Support assistant" in korean and "Beta" in korean and korean != line
    assert "no longer holds" not in korean


def test_an_open_p0_incident_makes_the_stage_lapse_through_the_operations_item(launched):
    from operations.services import incident_report

    incident_report(
        actor=launched.owner,
        launch=launched,
        title="Whole service down",
        severity="P0",
        user_impact="Every answer failed.",
        detected_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    [change] = recertify()
    assert not change.holds
    assert "no_open_major_incident" in change.reasons
    assert verify_ledger()[0] == 0


def test_whatever_item_is_registered_is_judged_generically(launched, monkeypatch):
    """A later item (say, item 15 "SLO compliance" on another branch) gates the stage it
    is registered for without recertification knowing of it."""
    from readiness.checklist import Check, Outcome, registry

    def breached(ctx):
        return Outcome.failed("p95 latency above its SLO for 3 days")

    monkeypatch.setitem(
        registry._checks,
        "within_slos",
        Check("within_slos", 99, "SLO compliance", breached, gates_every_stage=True),
    )
    [change] = recertify()
    # The item and, since the stage's gating items are among the facts approved, the sign-offs.
    assert change.reasons == ("stakeholders_approved", "within_slos")
    monkeypatch.delitem(registry._checks, "within_slos")
    [restored] = recertify()
    assert restored.holds


def test_a_stage_s_non_gating_items_failing_do_not_make_it_lapse(launched, monkeypatch):
    from readiness.checklist import Check, Outcome, registry

    monkeypatch.setitem(
        registry._checks, "advisory", Check("advisory", 98, "Advisory", lambda ctx: Outcome.failed("advice"))
    )
    assert recertify() == []
    assert StageStanding.objects.get(launch=launched).holds


def test_beat_recertifies_once_a_day_with_the_task_that_exists():
    from celery.schedules import crontab

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["recertify-launches"]
    assert entry["task"] == "approvals.tasks.recertify_launches"
    assert entry["task"] in app.tasks
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].hour == {settings.RECERTIFY_HOUR} and entry["schedule"].minute == {30}
