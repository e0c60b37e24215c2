"""The scheduled chasing (``approvals.reminders``): each sweep tells the right people what is due,
once per occurrence, never on archived launches nor to deactivated people; the digest gathers
everyone's waiting work in a fixed number of reads; beat's tasks run the sweeps at the frozen
moment; ``manage.py send_reminders`` says what it sent and, run again, that nothing was new.

The launch is built once per module (``shared_launch``); each test runs in a savepoint of its own.
The tests that start from its Internal sign-offs approved are grouped in classes that approve them
once (``approved_once``)."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals import reminders
from approvals.choices import NotificationEvent, PolicyChangeStatus, WaiverStatus
from approvals.models import Acknowledgement, PolicyChange, SignoffRequest, Waiver
from approvals.reminders import digest
from approvals.selectors import policy_changes_awaiting, requests_awaiting, waivers_awaiting
from approvals.services import signoff_decide, signoff_delegate, signoffs_request, stage_advance
from approvals.tasks import send_daily_reminders, send_stale_notices
from notifications.events import describe
from notifications.models import Notification, NotificationPreference
from notifications.services import notify
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import Stakeholder
from raci.services import language_set, stakeholder_set_executive
from readiness.i18n import shown_date
from readiness.models import DataAsset, Launch, RollbackPlan, Runbook
from tests.builders import accountable_of, approve_signoffs, ready_launch, team_for
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db
SITE = "http://127.0.0.1:8000"


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


def at(date: datetime.date, hour: int = 7) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time(hour)))


def days_from_now(days: int, hour: int = 7) -> datetime.datetime:
    return at(timezone.localdate() + datetime.timedelta(days=days), hour)


def told(event, key=None) -> set:
    rows = Notification.objects.filter(event=event)
    if key:
        rows = rows.filter(key=key)
    return {n.recipient for n in rows}


def recipients(sent) -> set:
    return {item.recipient for item in sent}


def stage(launch, name):
    return launch.stages.get(name=name)


def change_retention(launch, days: int) -> None:
    asset = launch.data_assets.get(name="Support tickets")
    asset.retention_days = days
    asset.save()


def internal_approvals(launch):
    requests = approve_signoffs(launch, "Internal")
    decisions = [d for r in requests for d in r.decisions.all()]
    return requests, decisions


@pytest.fixture(scope="class")
def approved_once(class_savepoint, shared_launch) -> list[int]:
    """The module's launch with its Internal sign-offs approved, once for all the tests of a class
    (see ``class_savepoint``); the requests' keys."""
    return [r.pk for r in approve_signoffs(Launch.objects.get(pk=shared_launch), "Internal")]


@pytest.fixture
def approved(approved_once, launch) -> tuple[list, list]:
    """What ``internal_approvals`` returns, read back for each test (which runs in a savepoint)."""
    requests = list(SignoffRequest.objects.filter(pk__in=approved_once).order_by("pk"))
    return requests, [d for r in requests for d in r.decisions.order_by("pk")]


# 1. Stale approvals --------------------------------------------------------------------------------


class TestStaleApprovals:
    """From the module's launch with its Internal sign-offs approved (``approved``)."""

    def test_a_change_tells_each_approver_and_the_owner_once_with_what_changed(self, approved, launch, owner):
        _requests, decisions = approved
        approvers = {d.decided_by for d in decisions}
        assert reminders.sweep_stale_approvals(now=timezone.now()) == []  # nothing changed yet

        change_retention(launch, 60)
        sent = reminders.sweep_stale_approvals(now=timezone.now())

        assert recipients(sent) == approvers | {owner}
        notice = Notification.objects.filter(event=NotificationEvent.SIGNOFF_STALE, recipient=owner).first()
        assert notice.payload["changes"] == [
            {"fact": "data assets › Support tickets › retention days", "change": "changed", "before": 30, "after": 60}
        ]
        subject, lines = describe(notice.event, notice.payload)
        assert "Support assistant" in subject
        assert "data assets › Support tickets › retention days: 30 → 60" in lines
        # The owner is told once per decision (each says which sign-off); nobody twice for the same one.
        assert Notification.objects.filter(event=NotificationEvent.SIGNOFF_STALE, recipient=owner).count() == len(
            decisions
        )
        assert reminders.sweep_stale_approvals(now=timezone.now()) == []

    def test_a_further_change_is_news_again(self, approved, launch, owner):
        change_retention(launch, 60)
        first = reminders.sweep_stale_approvals(now=timezone.now())
        change_retention(launch, 45)
        again = reminders.sweep_stale_approvals(now=timezone.now())
        assert recipients(again) == recipients(first)
        assert {item.key for item in again}.isdisjoint({item.key for item in first})

    def test_changing_the_facts_back_makes_nothing_stale(self, approved, launch):
        change_retention(launch, 60)
        change_retention(launch, 30)
        assert reminders.sweep_stale_approvals(now=timezone.now()) == []

    def test_approvals_of_a_stage_already_entered_are_not_chased(self, approved, launch, owner):
        stage_advance(actor=owner, launch=launch, stage=stage(launch, "Internal"))
        change_retention(launch, 60)
        assert reminders.sweep_stale_approvals(now=timezone.now()) == []

    def test_an_archived_launch_is_skipped(self, approved, launch):
        change_retention(launch, 60)
        Launch.objects.filter(pk=launch.pk).update(archived=True)
        assert reminders.sweep_stale_approvals(now=timezone.now()) == []

    def test_a_deactivated_approver_is_not_told_but_the_owner_is(self, approved, launch, owner):
        _requests, decisions = approved
        gone = decisions[0].decided_by
        gone.is_active = False
        gone.save()
        change_retention(launch, 60)
        sent = reminders.sweep_stale_approvals(now=timezone.now())
        assert gone not in recipients(sent)
        assert owner in recipients(sent)

    def test_an_expired_approval_is_not_reported_stale(self, approved, launch):
        change_retention(launch, 60)
        assert reminders.sweep_stale_approvals(now=days_from_now(91)) == []

    def test_the_stale_sweep_reads_a_fixed_number_of_queries_however_many_launches(self, approved, launch, owner):
        """The approvals, the launches' facts (one query per prefetch), the stale ones' snapshots."""
        with CaptureQueriesContext(connection) as one:
            assert reminders.sweep_stale_approvals(now=timezone.now()) == []
        approve_signoffs(ready_launch(owner=UserFactory(), slug="second", name="Second"), "Internal")
        with CaptureQueriesContext(connection) as two:
            assert reminders.sweep_stale_approvals(now=timezone.now()) == []
        assert len(two) == len(one) <= 22


# 2. Overdue and escalation -------------------------------------------------------------------------


@pytest.fixture
def ml_request(launch, owner):
    """The ML sign-off for Internal, due tomorrow, addressed to the model-quality Responsible (so its
    Accountable is someone else to escalate to)."""
    area = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    responsible = area.assignments.get(role=Role.RESPONSIBLE).stakeholder.user
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=stage(launch, "Internal"),
        functions=[TeamFunction.ML],
        addressees={TeamFunction.ML: [responsible]},
        due_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    return request


def overdue_by(request, days: int) -> datetime.datetime:
    return at(request.due_date + datetime.timedelta(days=days))


def test_a_request_is_not_overdue_on_its_due_date(ml_request):
    assert reminders.sweep_overdue(now=at(ml_request.due_date, 23)) == []


def test_an_overdue_request_reminds_its_addressees_once(ml_request):
    (responsible,) = ml_request.addressees.all()
    sent = reminders.sweep_overdue(now=overdue_by(ml_request, 1))
    assert [(item.kind, item.recipient) for item in sent] == [(NotificationEvent.SIGNOFF_OVERDUE, responsible)]
    notice = Notification.objects.get(event=NotificationEvent.SIGNOFF_OVERDUE)
    assert describe(notice.event, notice.payload)[1] == [
        f"The ML sign-off for Internal was due on {shown_date(ml_request.due_date)} and is 1 day overdue; "
        f"it waits for {responsible.get_full_name()}."
    ]
    assert reminders.sweep_overdue(now=overdue_by(ml_request, 1)) == []


def test_escalation_goes_to_the_area_accountable_then_the_owners_executive(launch, owner, ml_request):
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)])
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    admin = get_user_model().objects.get(pk=admin.pk)
    stakeholder_set_executive(actor=admin, stakeholder=StakeholderFactory(user=owner), executive=boss)

    day_one = reminders.sweep_overdue(now=overdue_by(ml_request, 1))
    assert {item.kind for item in day_one} == {NotificationEvent.SIGNOFF_OVERDUE}  # REMINDER_ESCALATION_DAYS=2

    day_two = reminders.sweep_overdue(now=overdue_by(ml_request, 2))
    assert [(item.kind, item.recipient) for item in day_two] == [(NotificationEvent.SIGNOFF_ESCALATED, accountable)]
    assert reminders.sweep_overdue(now=overdue_by(ml_request, 3)) == []

    day_four = reminders.sweep_overdue(now=overdue_by(ml_request, 4))
    assert [(item.kind, item.recipient) for item in day_four] == [(NotificationEvent.SIGNOFF_ESCALATED, boss.user)]
    assert reminders.sweep_overdue(now=overdue_by(ml_request, 9)) == []
    notice = Notification.objects.get(recipient=boss.user)
    assert notice.payload["level"] == 2
    assert describe(notice.event, notice.payload)[1][0].startswith("Escalated to you: the ML sign-off")


def lead_executives():
    executives = team_for(TeamFunction.EXECUTIVE)
    executives.lead = executives.members.first()
    executives.save()
    return executives.lead.user


def test_escalation_days_come_from_the_settings(ml_request, settings):
    lead_executives()
    settings.REMINDER_ESCALATION_DAYS = 1
    sent = reminders.sweep_overdue(now=overdue_by(ml_request, 2))
    assert sorted(item.key.rsplit(":", 1)[-1] for item in sent if item.kind == NotificationEvent.SIGNOFF_ESCALATED) == [
        "level1",
        "level2",
    ]


def test_without_a_named_executive_the_executive_leads_are_told(launch, ml_request, caplog):
    assert not [item for item in reminders.sweep_overdue(now=overdue_by(ml_request, 4)) if item.key.endswith("level2")]
    assert "nobody to escalate" in caplog.text  # no lead either: said in the log, not silently dropped
    lead = lead_executives()
    sent = reminders.sweep_overdue(now=overdue_by(ml_request, 4))
    assert [item.recipient for item in sent] == [lead]


def test_a_deactivated_accountable_gives_way_to_the_function_leads(launch, ml_request):
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    accountable.is_active = False
    accountable.save()
    ml = team_for(TeamFunction.ML)
    lead = StakeholderFactory(teams=[ml])
    ml.lead = lead
    ml.save()
    sent = reminders.sweep_overdue(now=overdue_by(ml_request, 2))
    assert [item.recipient for item in sent if item.kind == NotificationEvent.SIGNOFF_ESCALATED] == [lead.user]


def test_a_decided_request_is_not_chased_and_a_delegate_is(launch, owner):
    legal = launch.stages.get(name="Internal")
    requests = signoffs_request(
        actor=owner, launch=launch, stage=legal, due_date=timezone.localdate() + datetime.timedelta(days=1)
    )
    decided, delegated = requests[0], requests[1]
    signoff_decide(actor=decided.addressees.first(), signoff=decided, outcome="approve")
    delegator = delegated.addressees.first()
    colleague = StakeholderFactory(teams=[team_for(delegated.function)]).user
    signoff_delegate(actor=delegator, signoff=delegated, delegate=colleague, reason="On leave")

    sent = reminders.sweep_overdue(now=overdue_by(decided, 1))

    overdue = {(item.key, item.recipient) for item in sent if item.kind == NotificationEvent.SIGNOFF_OVERDUE}
    assert not any(key == f"request:{decided.pk}" for key, _who in overdue)
    assert {who for key, who in overdue if key == f"request:{delegated.pk}"} == {delegator, colleague}


def test_an_archived_launch_is_not_chased(launch, ml_request):
    Launch.objects.filter(pk=launch.pk).update(archived=True)
    assert reminders.sweep_overdue(now=overdue_by(ml_request, 5)) == []


def test_only_team_administrators_name_an_executive_and_never_their_own(launch, owner):
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)])
    mine = StakeholderFactory(user=owner)
    with pytest.raises(PermissionDenied):
        stakeholder_set_executive(actor=owner, stakeholder=mine, executive=boss)
    owner.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    owner = get_user_model().objects.get(pk=owner.pk)
    with pytest.raises(PermissionDenied):
        stakeholder_set_executive(actor=owner, stakeholder=mine, executive=boss)
    assert Stakeholder.objects.get(pk=mine.pk).executive is None


def test_the_executive_must_be_in_an_executive_team(launch, owner):
    admin = UserFactory(username="teamadmin")
    admin.user_permissions.add(Permission.objects.get(codename="manage_teams"))
    admin = get_user_model().objects.get(pk=admin.pk)
    mine = StakeholderFactory(user=owner)
    not_an_executive = StakeholderFactory(teams=[team_for(TeamFunction.LEGAL)])
    with pytest.raises(ValidationError, match="not in an executive team"):
        stakeholder_set_executive(actor=admin, stakeholder=mine, executive=not_an_executive)
    assert Stakeholder.objects.get(pk=mine.pk).executive is None
    boss = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)])
    stakeholder_set_executive(actor=admin, stakeholder=mine, executive=boss)
    record = Stakeholder.objects.get(pk=mine.pk).history.first()
    assert (record.executive_id, record.history_user, record.history_change_reason) == (
        boss.pk,
        admin,
        f"Executive: {boss.display_name}",
    )


# 3. Expiry warnings --------------------------------------------------------------------------------


class TestExpiringApprovals:
    """From the module's launch with its Internal sign-offs approved (``approved``)."""

    def test_an_approval_is_announced_before_it_expires_once(self, approved, launch, owner, settings):
        _requests, decisions = approved
        expires = timezone.localdate() + datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS)
        early = reminders.sweep_expiring(now=at(expires - datetime.timedelta(days=20)))
        assert not [item for item in early if item.kind == NotificationEvent.SIGNOFF_EXPIRING]

        sent = reminders.sweep_expiring(now=at(expires - datetime.timedelta(days=10)))
        expiring = [item for item in sent if item.kind == NotificationEvent.SIGNOFF_EXPIRING]
        assert recipients(expiring) == {owner} | {d.decided_by for d in decisions}
        notice = Notification.objects.filter(event=NotificationEvent.SIGNOFF_EXPIRING, recipient=owner).first()
        assert f"expires on {shown_date(notice.payload['date'])}" in describe(notice.event, notice.payload)[1][0]
        again = reminders.sweep_expiring(now=at(expires - datetime.timedelta(days=9)))
        assert not [item for item in again if item.kind == NotificationEvent.SIGNOFF_EXPIRING]

    def test_the_warning_window_comes_from_the_settings(self, approved, launch, settings):
        settings.EXPIRY_WARNING_DAYS = 30
        expires = timezone.localdate() + datetime.timedelta(days=settings.SIGNOFF_MAX_AGE_DAYS)
        sent = reminders.sweep_expiring(now=at(expires - datetime.timedelta(days=20)))
        assert [item for item in sent if item.kind == NotificationEvent.SIGNOFF_EXPIRING]

    def test_nothing_is_announced_on_an_archived_launch(self, approved, launch):
        Launch.objects.filter(pk=launch.pk).update(archived=True)
        for days in (70, 80, 170):
            assert reminders.sweep_expiring(now=days_from_now(days)) == []


def test_facts_about_to_lapse_warn_the_owner(launch, owner):
    today = timezone.localdate()
    plan = RollbackPlan.objects.get(launch=launch)  # rehearsed 10 days ago, may be 90 days old
    runbook = Runbook.objects.get(launch=launch)  # reviewed 5 days ago, every 180 days
    asset = DataAsset.objects.get(launch=launch, name="Support tickets")  # PII, audited today, every 90 days
    rehearsal_due = plan.last_rehearsed_at + datetime.timedelta(days=90)
    assert rehearsal_due == today + datetime.timedelta(days=80)

    sent = reminders.sweep_expiring(now=days_from_now(70))
    facts = {item.key for item in sent if item.kind == NotificationEvent.FACT_EXPIRING}
    assert facts == {f"rollback:{plan.pk}:{rehearsal_due.isoformat()}"}
    sent = reminders.sweep_expiring(now=days_from_now(80))
    facts = {item.key for item in sent if item.kind == NotificationEvent.FACT_EXPIRING}
    assert facts == {f"asset:{asset.pk}:{(today + datetime.timedelta(days=90)).isoformat()}"}
    assert {item.recipient for item in sent if item.kind == NotificationEvent.FACT_EXPIRING} == {owner}
    sent = reminders.sweep_expiring(now=days_from_now(170))
    assert f"runbook:{runbook.pk}:{(today + datetime.timedelta(days=175)).isoformat()}" in {item.key for item in sent}
    lines = {
        describe(n.event, n.payload)[1][0]
        for n in Notification.objects.filter(event=NotificationEvent.FACT_EXPIRING, recipient=owner)
    }
    assert lines == {
        f"The rollback rehearsal lapses on {shown_date(rehearsal_due)}: rehearse the rollback again before then.",
        f"The PII audit of Support tickets is due on {shown_date(today + datetime.timedelta(days=90))}.",
        f"The incident runbook is due for review on {shown_date(today + datetime.timedelta(days=175))}.",
    }


def test_a_lapsed_fact_is_not_announced_as_about_to_lapse(launch):
    sent = reminders.sweep_expiring(now=days_from_now(95))  # the rehearsal lapsed 5 days before
    assert not [item for item in sent if item.key.startswith("rollback:")]


def test_an_approved_waiver_warns_the_owner_and_its_decider(launch, owner):
    decider = StakeholderFactory(teams=[team_for(TeamFunction.EXECUTIVE)]).user
    waiver = Waiver.objects.create(
        launch=launch,
        stage=stage(launch, "Beta"),
        check_key="rollback_plan",
        justification="Rehearsal booked",
        expires_on=timezone.localdate() + datetime.timedelta(days=20),
        requested_by=owner,
        status=WaiverStatus.APPROVED,
        decided_by=decider,
        decided_at=timezone.now(),
    )
    assert not [i for i in reminders.sweep_expiring(now=days_from_now(1)) if i.key.startswith("waiver:")]
    sent = [i for i in reminders.sweep_expiring(now=days_from_now(6)) if i.key.startswith("waiver:")]
    assert recipients(sent) == {owner, decider}
    notice = Notification.objects.get(key=f"waiver:{waiver.pk}:{waiver.expires_on.isoformat()}", recipient=owner)
    assert describe(notice.event, notice.payload)[1] == [
        f"The waiver of the check Rollback procedure expires on {shown_date(waiver.expires_on)}."
    ]


# 4. The daily digest ---------------------------------------------------------------------------------


def test_each_person_with_work_waiting_gets_one_digest_a_day(launch, owner):
    RaciAssignmentFactory(area=launch.areas.first(), role=Role.CONSULTED, stakeholder=StakeholderFactory())
    requests = signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    addressees = {person for request in requests for person in request.addressees.all()}
    consulted = {a.user for a in Acknowledgement.objects.filter(launch=launch)}

    sent = reminders.sweep_digests(now=timezone.now())

    assert len(consulted) == 1
    assert recipients(sent) == addressees | consulted
    assert owner not in recipients(sent)  # nothing waits for the owner
    assert reminders.sweep_digests(now=timezone.now()) == []
    tomorrow = reminders.sweep_digests(now=timezone.now() + datetime.timedelta(days=1))
    assert recipients(tomorrow) == recipients(sent)


def test_a_digest_lists_the_sign_offs_with_links(launch, owner):
    (request,) = signoffs_request(
        actor=owner,
        launch=launch,
        stage=stage(launch, "Internal"),
        functions=[TeamFunction.ML],
        due_date=timezone.localdate() + datetime.timedelta(days=3),
    )
    approver = request.addressees.get()
    reminders.sweep_digests(now=timezone.now())
    notice = Notification.objects.get(event=NotificationEvent.DIGEST, recipient=approver)
    assert notice.key == f"digest:{timezone.localdate().isoformat()}"
    assert notice.payload["counts"] == {"signoffs": 1}
    subject, lines = describe(notice.event, notice.payload)
    assert subject == f"[Preflight] Your digest for {shown_date(timezone.localdate())}: 1 sign-off"
    assert lines == [
        "Waiting for you: 1 sign-off.",
        f"Sign-off: Support assistant — ML for Internal, due {shown_date(request.due_date)}: {SITE}/signoffs/{request.pk}/",
    ]


def test_a_decided_request_leaves_the_digest(launch, owner):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=[TeamFunction.ML]
    )
    approver = request.addressees.get()
    signoff_decide(actor=approver, signoff=request, outcome="approve")
    assert approver not in recipients(reminders.sweep_digests(now=timezone.now()))


def test_deactivated_people_get_no_digest(launch, owner):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=[TeamFunction.ML]
    )
    approver = request.addressees.get()
    approver.is_active = False
    approver.save()
    assert approver not in recipients(reminders.sweep_digests(now=timezone.now()))


def test_an_archived_launch_adds_nothing_to_a_digest(launch, owner):
    signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    Launch.objects.filter(pk=launch.pk).update(archived=True)
    assert reminders.sweep_digests(now=timezone.now()) == []


def test_digest_readers_get_the_notices_since_their_last_digest(launch, owner):
    reader = accountable_of(launch, AreaKind.POLICY).user
    NotificationPreference.objects.create(user=reader, mode="digest")
    other = StakeholderFactory().user  # told too, but reads mail as it comes: no digest of notices

    def tell(key, moment):
        notify(
            event=NotificationEvent.STAGE_ADVANCED,
            key=key,
            launch=launch,
            actor=owner,
            recipients=[reader, other],
            payload={"launch": launch.name, "from": "", "to": "Internal", "person": "Olive Owner"},
            link=f"/launches/{launch.slug}/",
        )
        Notification.objects.filter(key=key).update(created_at=moment)

    now = timezone.now()
    tell("old", now - datetime.timedelta(days=3))
    tell("recent", now - datetime.timedelta(hours=5))
    sent = reminders.sweep_digests(now=now)
    assert recipients(sent) == {reader}
    digest = Notification.objects.get(event=NotificationEvent.DIGEST, recipient=reader)
    assert digest.payload["notices"] == [
        {"event": "stage_advanced", "launch": "Support assistant", "link": "/launches/assistant/"}
    ]
    tell("later", now + datetime.timedelta(hours=2))
    later = now + datetime.timedelta(days=1)
    reminders.sweep_digests(now=later)
    second = Notification.objects.get(
        event=NotificationEvent.DIGEST, recipient=reader, key__endswith=str(timezone.localdate(later))
    )
    assert digest.created_at < second.created_at
    assert [n["link"] for n in second.payload["notices"]] == ["/launches/assistant/"]
    assert second.payload["counts"] == {"notices": 1}


def test_the_digest_follows_the_readers_time_zone(launch, owner):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=[TeamFunction.ML]
    )
    approver = request.addressees.get()
    NotificationPreference.objects.create(user=approver, time_zone="Asia/Seoul")
    moment = timezone.make_aware(datetime.datetime(2026, 11, 23, 20, 0), datetime.UTC)  # 05:00 on the 24th in Seoul
    reminders.sweep_digests(now=moment)
    assert Notification.objects.get(event=NotificationEvent.DIGEST, recipient=approver).key == "digest:2026-11-24"


def test_the_grouped_digest_rules_agree_with_each_persons_inbox(launch, owner):
    """The digest reads everyone's waiting work at once; it must find what each person's own
    selectors (their inbox) find."""
    signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    lead = lead_executives()
    policy_lead = accountable_of(launch, AreaKind.POLICY)
    legal = team_for(TeamFunction.LEGAL)
    legal.lead = policy_lead
    legal.save()
    Waiver.objects.create(
        launch=launch,
        stage=stage(launch, "Beta"),
        check_key="pii_policy",
        justification="Masking ships next week",
        expires_on=timezone.localdate() + datetime.timedelta(days=10),
        requested_by=owner,
    )
    PolicyChange.objects.create(
        launch=launch,
        stage=stage(launch, "Beta"),
        function=TeamFunction.LEGAL,
        approvals_required=0,
        justification="Reviewed last quarter",
        requested_by=owner,
        status=PolicyChangeStatus.PENDING,
    )
    people = set(get_user_model().objects.filter(is_active=True))
    grouped_signoffs = {(u, r.pk) for u, r in digest._signoffs_waiting()}
    grouped_waivers = {(u, w.pk) for u, w in digest._waivers_waiting()}
    grouped_changes = {(u, c.pk) for u, c in digest._policy_changes_waiting()}
    assert grouped_signoffs == {(p.pk, r.pk) for p in people for r in requests_awaiting(p)}
    assert grouped_waivers == {(p.pk, w.pk) for p in people for w in waivers_awaiting(p)}
    assert grouped_changes == {(p.pk, c.pk) for p in people for c in policy_changes_awaiting(p)}
    assert {u for u, _w in grouped_waivers} >= {lead.pk, policy_lead.user_id}
    assert {u for u, _c in grouped_changes} >= {lead.pk, policy_lead.user_id}


def test_an_executives_digest_lists_waivers_policy_changes_and_acknowledgements(launch, owner):
    lead = lead_executives()
    waiver = Waiver.objects.create(
        launch=launch,
        stage=stage(launch, "Beta"),
        check_key="pii_policy",
        justification="Masking ships next week",
        expires_on=timezone.localdate() + datetime.timedelta(days=10),
        requested_by=owner,
    )
    change = PolicyChange.objects.create(
        launch=launch, risk_tier="low", justification="Internal tool only", requested_by=owner
    )
    Acknowledgement.objects.create(launch=launch, stage=stage(launch, "Beta"), user=lead, requested_by=owner)

    reminders.sweep_digests(now=timezone.now())

    notice = Notification.objects.get(event=NotificationEvent.DIGEST, recipient=lead)
    assert notice.payload["counts"] == {"waivers": 1, "policy_changes": 1, "acknowledgements": 1}
    subject, lines = describe(notice.event, notice.payload)
    assert subject.endswith(": 1 waiver, 1 policy change, 1 acknowledgement")
    assert lines[1:] == [
        f"Waiver: Support assistant — PII policy for Beta: {SITE}/waivers/{waiver.pk}/",
        f"Lowering the sign-off bar: Support assistant — risk tier Low: {SITE}/launches/assistant/policy-changes/{change.pk}/",
        f"Acknowledgement: Support assistant entering Beta: {SITE}/signoffs/",
    ]


def test_a_long_digest_shows_the_first_items_and_counts_the_rest(launch, owner, monkeypatch):
    (person,) = _people_waiting(launch, owner, 1)
    for name in ("Internal", "Full"):
        Acknowledgement.objects.create(launch=launch, stage=stage(launch, name), user=person, requested_by=owner)
    monkeypatch.setattr(digest, "MAX_DIGEST_ITEMS", 2)
    reminders.sweep_digests(now=timezone.now())
    notice = Notification.objects.get(event=NotificationEvent.DIGEST, recipient=person)
    assert notice.payload["counts"] == {"acknowledgements": 3}
    lines = describe(notice.event, notice.payload)[1]
    assert len(lines) == 4
    assert lines[-1] == "and 1 more in Preflight."


def _people_waiting(launch, owner, count: int) -> list:
    # Consulted people see the launch (a role grants it); the digest asks nobody else.
    people = [give_view(StakeholderFactory(teams=[team_for(TeamFunction.QA)]).user, launch) for _ in range(count)]
    for person in people:
        Acknowledgement.objects.create(launch=launch, stage=stage(launch, "Beta"), user=person, requested_by=owner)
    return people


def test_the_digest_reads_a_fixed_number_of_queries_however_many_people(launch, owner):
    """Reads are grouped: 30 people cost what 3 cost, plus one notice written per person
    (``notify``: a savepoint, its own check, the person's preferences, the notice, the mail, the
    release)."""
    _people_waiting(launch, owner, 3)
    with CaptureQueriesContext(connection) as few:
        assert len(reminders.sweep_digests(now=timezone.now())) == 3
    _people_waiting(launch, owner, 30)
    with CaptureQueriesContext(connection) as many:
        assert len(reminders.sweep_digests(now=timezone.now() + datetime.timedelta(days=1))) == 33
    per_person = 6
    assert len(many) - len(few) == 30 * per_person
    assert len(few) - 3 * per_person <= 16  # the grouped reads


def test_a_korean_reader_gets_the_digest_in_korean(launch, owner, mailoutbox, django_capture_on_commit_callbacks):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=[TeamFunction.ML]
    )
    approver = request.addressees.get()
    language_set(actor=approver, language="ko")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reminders.sweep_digests(now=timezone.now())
    (mail,) = [m for m in mailoutbox if m.to == [approver.email]]
    today = timezone.localdate()  # the date as Korean writes it, like every date in Korean
    assert mail.subject == f"[Preflight] {today.year}년 {today.month}월 {today.day}일 요약: 승인 1건"
    assert "기다리는 일: 승인 1건." in mail.body
    assert f"{SITE}/signoffs/{request.pk}/" in mail.body
    html = mail.alternatives[0][0]
    assert f'<a href="{SITE}/signoffs/{request.pk}/"' in html


# The acknowledgement asked --------------------------------------------------------------------------


def test_asking_for_sign_offs_asks_consulted_people_to_acknowledge_once(launch, owner):
    for area in launch.areas.all()[:2]:
        RaciAssignmentFactory(area=area, role=Role.CONSULTED, stakeholder=StakeholderFactory())
    signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    consulted = {a.user for a in Acknowledgement.objects.filter(launch=launch)}
    assert len(consulted) == 2
    assert told(NotificationEvent.ACKNOWLEDGEMENT_REQUESTED) == consulted
    notice = Notification.objects.filter(event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED).first()
    assert notice.link == "/signoffs/"
    assert describe(notice.event, notice.payload)[1] == [
        "Olive Owner asks you, as Consulted, to acknowledge Support assistant entering Internal."
    ]
    signoffs_request(actor=owner, launch=launch, stage=stage(launch, "Internal"))
    assert Notification.objects.filter(event=NotificationEvent.ACKNOWLEDGEMENT_REQUESTED).count() == len(consulted)


# Beat's tasks under a frozen clock, and the command --------------------------------------------------


def test_beats_daily_task_runs_every_sweep_at_the_frozen_moment(launch, owner, ml_request):
    with time_machine.travel(overdue_by(ml_request, 2), tick=False):
        told_now = send_daily_reminders.delay().get()
        assert (
            told_now
            == Notification.objects.count()
            - Notification.objects.filter(created_at__lt=overdue_by(ml_request, 2)).count()
        )
        assert {n.event for n in Notification.objects.filter(created_at=timezone.now())} == {
            NotificationEvent.SIGNOFF_OVERDUE,
            NotificationEvent.SIGNOFF_ESCALATED,
            NotificationEvent.DIGEST,
        }
        assert send_daily_reminders.delay().get() == 0
    with time_machine.travel(overdue_by(ml_request, 3), tick=False):
        assert {n.event for n in Notification.objects.filter(created_at__gte=overdue_by(ml_request, 3))} == set()
        send_daily_reminders.delay().get()
        assert set(Notification.objects.filter(created_at=timezone.now()).values_list("event", flat=True)) == {
            NotificationEvent.DIGEST
        }  # the next day: only the digest is new


def test_beats_stale_task_tells_once(launch, owner):
    internal_approvals(launch)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=15), tick=False):
        assert send_stale_notices.delay().get() == 0
        change_retention(launch, 60)
        assert send_stale_notices.delay().get() > 0
        assert send_stale_notices.delay().get() == 0


def test_the_beat_schedule_runs_the_sweeps(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["stale-approval-notices"]["task"] == "approvals.tasks.send_stale_notices"
    assert schedule["stale-approval-notices"]["schedule"] == 900
    daily = schedule["daily-reminders"]
    assert daily["task"] == "approvals.tasks.send_daily_reminders"
    assert daily["schedule"].hour == {settings.REMINDER_HOUR}
    assert daily["schedule"].minute == {0}


def test_the_command_says_what_it_sent_and_then_that_nothing_is_new(
    launch, owner, ml_request, mailoutbox, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    with (
        time_machine.travel(overdue_by(ml_request, 3)),  # replaying the day before
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("send_reminders", now=overdue_by(ml_request, 2).isoformat(), stdout=out)
    lines = out.getvalue().splitlines()
    (responsible,) = ml_request.addressees.all()
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    due = ml_request.due_date.isoformat()
    assert f"overdue → {responsible.get_full_name()}: Support assistant: ML sign-off for Internal, due {due}" in lines
    assert (
        f"escalated → {accountable.get_full_name()}: Support assistant: ML sign-off for Internal, due {due}, "
        "2 days overdue (level 1)"
    ) in lines
    assert f"digest → {responsible.get_full_name()}: 1 sign-off" in lines
    assert lines[-1].startswith(f"Sent {len(lines) - 1} notices (")
    assert {m.to[0] for m in mailoutbox} >= {responsible.email, accountable.email}

    again = io.StringIO()
    with time_machine.travel(overdue_by(ml_request, 3)):
        call_command("send_reminders", now=overdue_by(ml_request, 2).isoformat(), stdout=again)
    assert again.getvalue() == "Nothing new to send: everyone has been told about everything due.\n"


def test_a_dry_run_writes_and_sends_nothing(launch, ml_request, mailoutbox):
    out = io.StringIO()
    with time_machine.travel(overdue_by(ml_request, 2)):
        call_command("send_reminders", dry_run=True, stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("Would send ")
    assert not Notification.objects.filter(event=NotificationEvent.SIGNOFF_OVERDUE).exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("value", "message"), [("yesterday", "ISO 8601"), ("2999-01-01T07:00", "must not be in the future")]
)
def test_the_command_refuses_a_bad_moment(value, message):
    with pytest.raises(CommandError, match=message):
        call_command("send_reminders", now=value, stdout=io.StringIO())


def test_a_digest_reader_finds_the_notices_the_same_run_wrote(launch, ml_request):
    (responsible,) = ml_request.addressees.all()
    NotificationPreference.objects.create(user=responsible, mode="digest")
    with time_machine.travel(overdue_by(ml_request, 1), tick=False):
        reminders.send_daily_reminders(now=timezone.now())
    digest = Notification.objects.get(event=NotificationEvent.DIGEST, recipient=responsible)
    assert digest.payload["counts"] == {"signoffs": 1, "notices": 1}
    assert digest.payload["notices"][0]["event"] == NotificationEvent.SIGNOFF_OVERDUE


def test_names_people_gave_are_escaped_in_the_digest_mail(
    launch, owner, mailoutbox, django_capture_on_commit_callbacks
):
    Launch.objects.filter(pk=launch.pk).update(name="<img src=x onerror=alert(1)> bot")
    launch.refresh_from_db()
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=stage(launch, "Internal"), functions=[TeamFunction.ML]
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reminders.sweep_digests(now=timezone.now())
    html = next(m for m in mailoutbox if m.to == [request.addressees.get().email]).alternatives[0][0]
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; bot" in html
