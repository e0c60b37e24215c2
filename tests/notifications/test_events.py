"""Every event tells the right people, once, by e-mail and in the app: written in the transaction
of the change, delivered after commit, never to whoever acted, in each recipient's language, with
plain text and HTML parts that both link to the exact page."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.choices import NotificationEvent
from approvals.selectors import waivers_awaiting
from approvals.services import (
    signoff_decide,
    signoff_delegate,
    signoff_withdraw,
    signoffs_request,
    stage_advance,
    stage_rollback,
    waiver_decide,
    waiver_request,
)
from notifications.choices import DeliveryMode, OthersMode, OutboxStatus, Relevance
from notifications.models import Notification, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.services import notification_preferences_set, notify
from raci.choices import AreaKind, Role, TeamFunction
from raci.services import language_set
from readiness.models import Launch
from reports.choices import ReportEvent, ReportKind
from reports.services import report_render, report_request
from tests.builders import approve_signoffs, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db
SITE = "http://127.0.0.1:8000"


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.get(pk=shared_launch)


@pytest.fixture
def owner(launch):
    return get_user_model().objects.get(pk=launch.owner_id)


@pytest.fixture
def sent(mailoutbox, django_capture_on_commit_callbacks):
    """Run a service as a committed transaction would, and return the mails it caused, by address."""

    def run(service, *args, **kwargs):
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = service(*args, **kwargs)
        return result, {mail.to[0]: mail for mail in mailoutbox}

    return run


def wants_all_at_once(person) -> None:
    """``person`` asks to be told of other people's launches as it happens."""
    notification_preferences_set(
        actor=person,
        email=True,
        slack=True,
        mode=DeliveryMode.IMMEDIATE,
        quiet_from=None,
        quiet_until=None,
        time_zone="",
        others=OthersMode.IMMEDIATE,
    )


def accountable(launch, kind):
    return launch.areas.get(kind=kind).assignments.get(role=Role.ACCOUNTABLE).stakeholder.user


def everyone_on(launch) -> set:
    """Owner, RACI people and slot holders, read the long way round."""
    people = {launch.owner}
    for area in launch.areas.all():
        people |= {assignment.stakeholder.user for assignment in area.assignments.all()}
    people |= {slot.stakeholder.user for slot in launch.stakeholder_slots.all() if slot.stakeholder}
    return people


def told(event, key=None) -> set:
    rows = Notification.objects.filter(event=event)
    if key:
        rows = rows.filter(key=key)
    return {n.recipient for n in rows}


def assert_links(mail, path: str):
    url = SITE + path
    assert url in mail.body
    ((html, mimetype),) = mail.alternatives
    assert mimetype == "text/html"
    assert f'href="{url}"' in html


def ml_request(launch, owner):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.get(name="Internal"), functions=["ml"]
    )
    return request


def test_a_requested_sign_off_is_also_an_in_app_notice_with_its_link(launch, owner, sent):
    request, mails = sent(ml_request, launch, owner)

    (person,) = request.addressees.all()
    (notice,) = Notification.objects.filter(recipient=person)
    assert (notice.event, notice.link, notice.read_at) == (
        NotificationEvent.SIGNOFF_REQUESTED,
        f"/signoffs/{request.pk}/",
        None,
    )
    assert_links(mails[person.email], f"/signoffs/{request.pk}/")


def test_a_decision_tells_the_owner_and_the_accountables_but_not_the_decider(launch, owner, sent):
    request = ml_request(launch, owner)
    approver = request.addressees.get()
    accountables = {
        a.stakeholder.user for area in launch.areas.all() for a in area.assignments.all() if a.role == Role.ACCOUNTABLE
    }

    decision, mails = sent(
        signoff_decide, actor=approver, signoff=request, outcome="reject", comment="Eval <b>stale</b>"
    )

    expected = ({owner} | accountables) - {approver}
    assert told(NotificationEvent.SIGNOFF_DECIDED) == expected
    assert len(expected) >= 5 and approver in accountables  # the decider, an Accountable, is left out
    # Only the owner is told at once: to the other Accountables it is news of someone else's launch,
    # filed for their digest (listed, not counted as new, no mail now).
    assert set(mails) == {owner.email}
    notices = Notification.objects.filter(event=NotificationEvent.SIGNOFF_DECIDED)
    assert {(n.recipient, n.relevance, n.quiet) for n in notices} == {
        (owner, Relevance.OWN, False),
        *((person, Relevance.OTHER, True) for person in expected - {owner}),
    }
    mail = mails[owner.email]
    assert mail.subject == "[Preflight] Support assistant: Sign-off decided"
    assert "decided the ML sign-off for Internal: Reject." in mail.body
    assert_links(mail, f"/signoffs/{request.pk}/")
    ((html, _mimetype),) = mail.alternatives
    assert "Eval &lt;b&gt;stale&lt;/b&gt;" in html and "<b>stale" not in html  # user text escaped
    assert "Eval <b>stale</b>" in mail.body  # plain text is not HTML


def test_each_recipient_reads_the_mail_in_their_own_language(launch, owner, sent):
    request = ml_request(launch, owner)
    language_set(actor=owner, language="ko")
    wants_all_at_once(accountable(launch, AreaKind.POLICY))

    _decision, mails = sent(signoff_decide, actor=request.addressees.get(), signoff=request, outcome="approve")

    korean, english = mails[owner.email], mails[accountable(launch, AreaKind.POLICY).email]
    assert english.subject == "[Preflight] Support assistant: Sign-off decided"
    assert korean.subject != english.subject and "Support assistant" in korean.subject
    assert any("\uac00" <= char <= "\ud7a3" for char in korean.subject)  # Hangul
    assert any("\uac00" <= char <= "\ud7a3" for char in korean.body)
    assert_links(korean, f"/signoffs/{request.pk}/")


def test_a_delegation_tells_the_delegate_only(launch, owner, sent):
    request = ml_request(launch, owner)
    approver = request.addressees.get()
    delegate = StakeholderFactory(teams=[team_for(TeamFunction.ML)]).user

    _delegation, mails = sent(signoff_delegate, actor=approver, signoff=request, delegate=delegate, reason="On leave")

    assert told(NotificationEvent.SIGNOFF_DELEGATED) == {delegate}
    assert list(mails) == [delegate.email]
    assert "delegated the ML sign-off for Internal to you." in mails[delegate.email].body
    assert "On leave" in mails[delegate.email].body
    assert_links(mails[delegate.email], f"/signoffs/{request.pk}/")


def test_a_withdrawal_tells_the_addressees_not_the_owner(launch, owner, sent):
    request = ml_request(launch, owner)

    _request, mails = sent(signoff_withdraw, actor=owner, signoff=request, reason="Wrong stage")

    assert told(NotificationEvent.SIGNOFF_WITHDRAWN) == set(request.addressees.all())
    assert owner.email not in mails
    assert "withdrew the request for the ML sign-off for Internal." in mails[request.addressees.get().email].body


def test_a_waiver_request_tells_exactly_those_who_may_decide_it_and_its_decision_the_requester(launch, owner, sent):
    waiver, mails = sent(
        waiver_request,
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Internal"),
        check_key="rollback_plan",
        justification="Rollback rehearsed next week",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )

    may_decide = {u for u in get_user_model().objects.all() if waivers_awaiting(u).filter(pk=waiver.pk).exists()}
    assert may_decide and owner not in may_decide
    assert told(NotificationEvent.WAIVER_REQUESTED) == may_decide
    assert set(mails) == {person.email for person in may_decide}
    decider = accountable(launch, AreaKind.INFRASTRUCTURE)
    assert decider in may_decide
    assert_links(mails[decider.email], f"/waivers/{waiver.pk}/")

    _waiver, mails = sent(waiver_decide, actor=decider, waiver=waiver, approve=False, comment="Rehearse first")

    assert told(NotificationEvent.WAIVER_DECIDED) == {owner}
    assert list(mails) == [owner.email]
    assert "Rehearse first" in mails[owner.email].body
    assert ": Rejected." in mails[owner.email].body


def test_advancing_and_rolling_back_tell_everyone_on_the_launch_but_the_actor(launch, owner, sent):
    approve_signoffs(launch, "Internal")
    Notification.objects.all().delete()
    OutboxMessage.objects.update(status=OutboxStatus.SENT, sent_at=timezone.now())
    everyone = everyone_on(launch) - {owner}
    assert len(everyone) >= 10

    at_once = accountable(launch, AreaKind.POLICY)
    wants_all_at_once(at_once)

    _readiness, mails = sent(stage_advance, actor=owner, launch=launch, stage=launch.stages.get(name="Internal"))

    # Everyone on the launch finds it on their page; only who asked for others' news at once is mailed.
    assert told(NotificationEvent.STAGE_ADVANCED) == everyone
    assert set(mails) == {at_once.email}
    assert set(Notification.objects.filter(quiet=True).values_list("recipient", flat=True)) == {
        person.pk for person in everyone - {at_once}
    }
    assert "Olive Owner moved Support assistant from planning to Internal." in mails[at_once.email].body

    launch.refresh_from_db()
    assert launch.current_stage == launch.stages.get(name="Internal")
    approve_signoffs(launch, "Beta")
    stage_advance(actor=owner, launch=launch, stage=launch.stages.get(name="Beta"))
    chief = accountable(launch, AreaKind.POLICY)

    _launch, mails = sent(
        stage_rollback, actor=chief, launch=launch, stage=launch.stages.get(name="Internal"), reason="Abuse spike"
    )

    assert told(NotificationEvent.STAGE_ROLLED_BACK) == everyone_on(launch) - {chief}
    assert owner.email in mails and chief.email not in mails
    assert "rolled Support assistant back from Beta to Internal." in mails[owner.email].body
    assert "Abuse spike" in mails[owner.email].body
    assert_links(mails[owner.email], f"/launches/{launch.slug}/")


def test_a_ready_report_tells_whoever_asked_once(launch, owner, monkeypatch, sent):
    monkeypatch.setattr("reports.documents.document_html", lambda report: "<p>report</p>")
    monkeypatch.setattr("reports.rendering.html_to_pdf", lambda html: b"%PDF-1.4 stand-in")
    report = report_request(actor=owner, kind=ReportKind.LAUNCH, language="en", launch=launch, dispatch=False)

    _report, mails = sent(report_render, str(report.pk))
    _again, again = sent(report_render, str(report.pk))  # already ready: no second notice

    assert told(ReportEvent.READY) == {owner}
    assert list(mails) == [owner.email] and again == {}
    assert "Your report on Support assistant is ready to download." in mails[owner.email].body
    assert_links(mails[owner.email], f"/reports/{report.pk}/")


def test_notify_is_idempotent_skips_the_actor_and_the_inactive_and_mails_only_addresses(launch, owner, sent):
    # On the launch, as anyone told of its stage changes is (others' messages are dropped).
    active, inactive, no_email = (
        give_view(user, launch) for user in (UserFactory(), UserFactory(is_active=False), UserFactory(email=""))
    )
    kwargs = {
        "event": NotificationEvent.STAGE_ADVANCED,
        "key": "test:1",
        "launch": launch,
        "actor": owner,
        "recipients": [owner, active, inactive, no_email, active],
        "waiting_for": [active, inactive, no_email],
        "payload": {"launch": launch.name, "from": "planning", "to": "Internal", "person": "Olive Owner"},
        "link": "/launches/assistant/",
    }

    _ids, mails = sent(notify, **kwargs)
    _ids_again, mails_again = sent(notify, **kwargs)

    assert told(NotificationEvent.STAGE_ADVANCED, "test:1") == {active, no_email}
    assert Notification.objects.filter(key="test:1").count() == 2
    assert OutboxMessage.objects.filter(key="test:1").count() == 1
    assert list(mails) == [active.email] and mails_again == {}
    # Draining again, however often, sends nothing more.
    assert deliver_outbox()["sent"] == 0
    assert deliver_outbox()["sent"] == 0


def test_a_decision_settles_the_notice_that_asked_for_it_and_only_that_one(launch, owner):
    request = ml_request(launch, owner)
    approver = request.addressees.get()
    delegate = StakeholderFactory(teams=[team_for(TeamFunction.ML)]).user
    other = Notification.objects.exclude(recipient=approver).filter(event=NotificationEvent.SIGNOFF_REQUESTED)
    asked = Notification.objects.get(recipient=approver, key=f"request:{request.pk}")
    assert asked.read_at is None and asked.relevance == Relevance.WAITING

    signoff_delegate(actor=approver, signoff=request, delegate=delegate, reason="On leave")
    assert Notification.objects.get(pk=asked.pk).read_at is None  # delegating is not deciding
    signoff_decide(actor=delegate, signoff=request, outcome="approve")

    assert Notification.objects.get(pk=asked.pk).read_at is not None  # decided on their behalf
    (delegated,) = Notification.objects.filter(recipient=delegate, event=NotificationEvent.SIGNOFF_DELEGATED)
    assert delegated.read_at is not None
    assert not other.filter(read_at__isnull=False).exists()
