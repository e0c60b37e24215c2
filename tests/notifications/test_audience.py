"""Every channel (the in-app notice, mail, the daily digest, Slack) tells only people who see the
launch when it is delivered (``notifications.audience``). A slot holder who left the function is told
nothing of a stage rollback; a former owner is told nothing of the waiver they asked for; people
who see the launch still get each. A withdrawal or an escalation to someone who does not see the
launch reaches them blind: no launch, no stage, nobody's words."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from approvals.choices import NotificationEvent
from approvals.reminders import sweep_digests, sweep_overdue
from approvals.services import signoff_withdraw, signoffs_request, stage_rollback, waiver_decide, waiver_request
from notifications.channels import slack
from notifications.choices import DeliveryMode, OthersMode, OutboxStatus
from notifications.events import describe
from notifications.models import Notification, NotificationPreference, OutboxMessage
from notifications.outbox import deliver_outbox
from notifications.services import notify
from raci.choices import AreaKind, Role, TeamFunction
from raci.models import LaunchStakeholder
from readiness.access import can_view
from readiness.models import Launch
from readiness.services import fact_version, launch_change
from tests.builders import accountable_of, ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db

REASON = "Rolled back: the breach at Acme is confirmed."
COMMENT = "Approved: Acme's lawyers signed off in the meeting."


@pytest.fixture
def slack_posts(settings, monkeypatch):
    """Every Slack post, as (webhook, text); the Security and Legal teams have webhooks."""
    settings.SLACK_WEBHOOKS = {"Security team": "http://127.0.0.1:9/security", "Legal team": "http://127.0.0.1:9/legal"}
    posts = []
    monkeypatch.setattr(slack, "post", lambda url, text: posts.append((url, text)))
    return posts


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    """The launch, built once per module (see ``module_transaction``); its primary key."""
    launch = ready_launch(slug="nightingale", name="Project Nightingale")
    # In Beta (how it got there is not the point here): a rollback to Internal is possible.
    Launch.objects.filter(pk=launch.pk).update(current_stage=launch.stages.get(name="Beta"))
    return launch.pk


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    """The module's launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.select_related("owner").get(pk=shared_launch)


def everything_for(person) -> dict:
    return {
        "notices": list(Notification.objects.filter(recipient=person).values_list("event", flat=True)),
        "messages": list(OutboxMessage.objects.filter(recipient=person).values_list("channel", flat=True)),
    }


def deliver(django_capture_on_commit_callbacks, action):
    with django_capture_on_commit_callbacks(execute=True):
        return action()


# A slot holder who left the function and a stage rollback ---------------------------------------------


@pytest.fixture
def former_legal(launch):
    """The legal slot's holder, who moved from the legal team to security (whose channel has a
    Slack webhook): the slot still names them, but it no longer lets them see the launch."""
    holder = LaunchStakeholder.objects.get(launch=launch, function=TeamFunction.LEGAL).stakeholder
    assert can_view(holder.user, launch)
    holder.teams.set([team_for(TeamFunction.SECURITY)])
    assert not can_view(holder.user, launch)
    return holder.user


@pytest.fixture
def responsible(launch):
    """Someone who sees the launch (Responsible for policy), on the legal team (a Slack webhook)."""
    return launch.areas.get(kind=AreaKind.POLICY).assignments.get(role=Role.RESPONSIBLE).stakeholder.user


def roll_back(launch):
    return stage_rollback(actor=launch.owner, launch=launch, stage=launch.stages.get(name="Internal"), reason=REASON)


def test_a_slot_holder_who_left_the_function_is_told_nothing_of_a_rollback_on_any_channel(
    launch, former_legal, slack_posts, mailoutbox, django_capture_on_commit_callbacks
):
    NotificationPreference.objects.create(user=former_legal, mode=DeliveryMode.IMMEDIATE)

    deliver(django_capture_on_commit_callbacks, lambda: roll_back(launch))
    deliver_outbox()
    sweep_digests(now=timezone.now())

    assert everything_for(former_legal) == {"notices": [], "messages": []}
    assert [mail for mail in mailoutbox if former_legal.email in mail.to] == []
    assert [text for _url, text in slack_posts if former_legal.get_full_name() in text] == []


def test_a_slot_holder_who_left_the_function_gets_no_digest_line_about_the_rollback(launch, former_legal):
    NotificationPreference.objects.create(user=former_legal, mode=DeliveryMode.DIGEST)

    roll_back(launch)
    sweep_digests(now=timezone.now())

    assert list(Notification.objects.filter(recipient=former_legal)) == []


def test_whoever_sees_the_launch_is_told_of_the_rollback_in_app_by_mail_and_on_slack(
    launch, responsible, slack_posts, mailoutbox, django_capture_on_commit_callbacks
):
    # News of a launch they do not own: told at once because they asked for others' news so.
    NotificationPreference.objects.create(user=responsible, others=OthersMode.IMMEDIATE)

    deliver(django_capture_on_commit_callbacks, lambda: roll_back(launch))

    (notice,) = Notification.objects.filter(recipient=responsible, event=NotificationEvent.STAGE_ROLLED_BACK)
    assert notice.payload["launch"] == "Project Nightingale" and notice.payload["text"] == REASON
    assert sorted(everything_for(responsible)["messages"]) == ["email", "slack"]
    (mail,) = [mail for mail in mailoutbox if responsible.email in mail.to]
    assert "Project Nightingale" in mail.subject and REASON in mail.body
    assert [url for url, text in slack_posts if responsible.get_full_name() in text] == ["http://127.0.0.1:9/legal"]


def test_whoever_sees_the_launch_and_takes_a_digest_finds_the_rollback_in_it(launch, responsible):
    NotificationPreference.objects.create(user=responsible, mode=DeliveryMode.DIGEST)

    roll_back(launch)
    sweep_digests(now=timezone.now())

    (digest,) = Notification.objects.filter(event=NotificationEvent.DIGEST, recipient=responsible)
    assert {"event": NotificationEvent.STAGE_ROLLED_BACK, "launch": "Project Nightingale"}.items() <= (
        digest.payload["notices"][0].items()
    )


# A former owner and the waiver they asked for ---------------------------------------------------------


def ask_waiver(launch):
    return waiver_request(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Full"),
        check_key="rollback_plan",
        justification="The rehearsal is booked for next week.",
        expires_on=timezone.localdate() + datetime.timedelta(days=14),
    )


def decide(waiver, launch):
    decider = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    return waiver_decide(actor=decider, waiver=waiver, approve=True, comment=COMMENT)


def test_a_former_owner_is_told_nothing_of_the_decision_on_the_waiver_they_asked_for(
    launch, slack_posts, mailoutbox, django_capture_on_commit_callbacks
):
    former = launch.owner
    former.email = "former@example.com"
    former.save()
    waiver = ask_waiver(launch)
    launch_change(
        actor=former, launch=launch, seen_version=fact_version(launch), values={"owner": UserFactory(username="next")}
    )
    launch.refresh_from_db()
    assert not can_view(former, launch)

    deliver(django_capture_on_commit_callbacks, lambda: decide(waiver, launch))

    assert not Notification.objects.filter(recipient=former, event=NotificationEvent.WAIVER_DECIDED).exists()
    assert not OutboxMessage.objects.filter(recipient=former, event=NotificationEvent.WAIVER_DECIDED).exists()
    assert [mail for mail in mailoutbox if "former@example.com" in mail.to] == []
    assert [text for _url, text in slack_posts if COMMENT in text or "Nightingale" in text] == []


def test_the_owner_who_asked_is_told_of_the_decision_with_the_comment(
    launch, mailoutbox, django_capture_on_commit_callbacks
):
    waiver = ask_waiver(launch)

    deliver(django_capture_on_commit_callbacks, lambda: decide(waiver, launch))

    (notice,) = Notification.objects.filter(recipient=launch.owner, event=NotificationEvent.WAIVER_DECIDED)
    assert notice.payload["text"] == COMMENT
    assert [COMMENT in mail.body for mail in mailoutbox if launch.owner.email in mail.to] == [True]


# The two notices that reach people off the launch, blind ----------------------------------------------


def ask_legal(launch, addressee):
    (request,) = signoffs_request(
        actor=launch.owner,
        launch=launch,
        stage=launch.stages.get(name="Full"),
        functions=[TeamFunction.LEGAL],
        addressees={TeamFunction.LEGAL: [addressee]},
        message="Please look at the Acme contract.",
        due_date=timezone.localdate(),
    )
    return request


def assert_blind(texts, *also):
    for forbidden in ("Nightingale", "nightingale", "Full", "Beta", "Acme", *also):
        assert all(forbidden not in text for text in texts), forbidden


def test_an_outside_addressee_learns_of_a_withdrawal_without_the_launch_or_the_reason(
    launch, mailoutbox, django_capture_on_commit_callbacks
):
    outsider = StakeholderFactory(user=UserFactory(email="outside@example.com"), teams=[team_for(TeamFunction.LEGAL)])
    request = ask_legal(launch, outsider.user)
    assert can_view(outsider.user, launch)  # only through the request

    deliver(
        django_capture_on_commit_callbacks,
        lambda: signoff_withdraw(actor=launch.owner, signoff=request, reason="Acme walked away."),
    )

    assert not can_view(outsider.user, launch)
    (notice,) = Notification.objects.filter(recipient=outsider.user, event=NotificationEvent.SIGNOFF_WITHDRAWN)
    subject, lines = describe(notice.event, notice.payload)
    assert lines == [
        f"{launch.owner.get_full_name()} withdrew a request for your Legal sign-off; nothing is asked of you any more."
    ]
    assert notice.link == ""
    (mail,) = [mail for mail in mailoutbox if mail.to == ["outside@example.com"]]
    assert_blind([subject, *lines, mail.subject, mail.body], "walked away")


def test_a_digest_lists_a_withdrawal_to_an_outside_addressee_without_the_launch(launch):
    outsider = StakeholderFactory(user=UserFactory(email="outside@example.com"), teams=[team_for(TeamFunction.LEGAL)])
    NotificationPreference.objects.create(user=outsider.user, mode=DeliveryMode.DIGEST)
    request = ask_legal(launch, outsider.user)
    signoff_withdraw(actor=launch.owner, signoff=request, reason="Acme walked away.")

    sweep_digests(now=timezone.now())

    (digest,) = Notification.objects.filter(event=NotificationEvent.DIGEST, recipient=outsider.user)
    assert digest.payload["notices"] == [{"event": NotificationEvent.SIGNOFF_WITHDRAWN, "launch": "", "link": ""}]
    subject, lines = describe(digest.event, digest.payload)
    assert "Notice: Sign-off withdrawn." in lines
    assert_blind([subject, *lines], "walked away")


def test_an_escalation_to_a_function_lead_off_the_launch_names_whom_to_chase_not_the_launch(launch, mailoutbox):
    addressee = LaunchStakeholder.objects.get(launch=launch, function=TeamFunction.LEGAL).stakeholder.user
    request = ask_legal(launch, addressee)
    legal = team_for(TeamFunction.LEGAL)
    for assignment in launch.areas.get(kind=AreaKind.POLICY).assignments.filter(role=Role.ACCOUNTABLE):
        assignment.stakeholder.user.is_active = False  # no Accountable to ask: the leads are
        assignment.stakeholder.user.save()
    lead = StakeholderFactory(user=UserFactory(username="legal-lead", email="lead@example.com"), teams=[legal])
    legal.lead = lead
    legal.save()
    assert not can_view(lead.user, launch)

    sweep_overdue(now=timezone.now() + datetime.timedelta(days=10))
    deliver_outbox()

    (notice,) = Notification.objects.filter(recipient=lead.user, event=NotificationEvent.SIGNOFF_ESCALATED)
    subject, lines = describe(notice.event, notice.payload)
    assert lines[0].startswith("Escalated to you: the Legal sign-off was due on ")
    assert lines[0].endswith(f"it waits for {addressee.get_full_name()}.")
    (mail,) = [mail for mail in mailoutbox if mail.to == ["lead@example.com"]]
    assert_blind([subject, *lines, mail.subject, mail.body, notice.link])
    assert OutboxMessage.objects.get(recipient=lead.user).status == OutboxStatus.SENT
    assert request.pk  # the request itself is untouched


def test_a_notice_written_while_the_reader_saw_the_launch_is_sent_blind_if_they_stopped_before_delivery(
    launch, responsible, mailoutbox
):
    """Written to someone who saw the launch, waiting in the outbox (the broker was down), and
    delivered after they lost sight of it: a withdrawal goes blind, anything else is dropped."""
    NotificationPreference.objects.create(user=responsible, others=OthersMode.IMMEDIATE)
    for event in (NotificationEvent.SIGNOFF_WITHDRAWN, NotificationEvent.STAGE_ROLLED_BACK):
        notify(
            event=event,
            key=f"late:{event}",
            launch=launch,
            actor=launch.owner,
            recipients=[responsible],
            payload={"launch": launch.name, "stage": "Full", "function": "legal", "person": "Olive", "text": REASON},
            link=f"/launches/{launch.slug}/",
        )
    responsible.stakeholder.assignments.all().delete()
    assert not can_view(responsible, launch)

    deliver_outbox()

    (mail,) = [mail for mail in mailoutbox if responsible.email in mail.to]
    assert "withdrew a request for your Legal sign-off" in mail.body
    assert_blind([mail.subject, mail.body], "breach", "/launches/")
    dropped = OutboxMessage.objects.get(recipient=responsible, event=NotificationEvent.STAGE_ROLLED_BACK)
    assert dropped.status == OutboxStatus.DROPPED
