"""A quality bar or an SLO waiting for agreement is asked of whoever alone may agree it: it shows in
the Accountable's "My sign-offs" and tells them once, after the write commits. The request page
warns the owner while agreements are pending and offers to wait; asking anyway stays possible."""

from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.agreements import tell_waiting_agreements
from approvals.choices import NotificationEvent
from approvals.models import SignoffRequest
from notifications.events import describe
from notifications.models import Notification
from raci.choices import AreaKind, Role
from raci.services import quality_bar_agree
from readiness.choices import SloIndicator
from readiness.models import QualityBar
from readiness.services import fact_add, fact_change, fact_version
from tests.builders import accountable_of

pytestmark = pytest.mark.django_db


def ml_accountable(launch):
    return accountable_of(launch, AreaKind.MODEL_QUALITY).user


def ml_responsible(launch):
    return launch.areas.get(kind=AreaKind.MODEL_QUALITY).assignments.get(role=Role.RESPONSIBLE).stakeholder.user


def waiting_notices(user):
    return Notification.objects.filter(recipient=user, event=NotificationEvent.AGREEMENT_WAITING)


def add_bar(launch, capture, metric="harmful_answers") -> QualityBar:
    with capture(execute=True):
        return fact_add(
            actor=launch.owner,
            launch=launch,
            model=QualityBar,
            values={
                "metric": metric,
                "failure_definition": "An answer that could hurt someone.",
                "max_failure_rate": Decimal("0.01"),
                "confidence_level": Decimal("0.95"),
                "min_samples": 100,
            },
        )


def test_a_new_bar_tells_its_accountable_once_in_words(launch, django_capture_on_commit_callbacks):
    accountable = ml_accountable(launch)
    bar = add_bar(launch, django_capture_on_commit_callbacks)
    (notice,) = waiting_notices(accountable)
    _subject, lines = describe(notice.event, notice.payload)
    assert "Quality bar 'harmful_answers'" in lines[0] and "waits for your agreement" in lines[0]
    assert notice.link.endswith("#facts-qualitybar")
    with django_capture_on_commit_callbacks(execute=True):
        fact_change(actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"min_samples": 100})
    tell_waiting_agreements(launch.pk)  # looking again tells nobody again
    assert waiting_notices(accountable).count() == 1


def test_nobody_else_is_told(launch, django_capture_on_commit_callbacks):
    add_bar(launch, django_capture_on_commit_callbacks)
    assert not waiting_notices(launch.owner).exists()
    assert not waiting_notices(ml_responsible(launch)).exists()


def test_redefining_a_bar_asks_again(launch, django_capture_on_commit_callbacks):
    accountable = ml_accountable(launch)
    bar = add_bar(launch, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        fact_change(
            actor=launch.owner, fact=bar, seen_version=fact_version(bar), values={"max_failure_rate": Decimal("0.02")}
        )
    assert waiting_notices(accountable).count() == 2


def test_an_agreed_bar_tells_nobody(launch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bar = launch.quality_bars.get()
        bar.save()  # agreed by the built launch's Accountable
    assert not waiting_notices(ml_accountable(launch)).exists()


def test_an_slo_redefined_tells_the_operations_accountable(launch, django_capture_on_commit_callbacks):
    operations = accountable_of(launch, AreaKind.INFRASTRUCTURE).user
    slo = launch.slos.get(indicator=SloIndicator.SUCCESS_RATE)
    with django_capture_on_commit_callbacks(execute=True):
        fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal("99.9")})
    (notice,) = waiting_notices(operations)
    assert "SLO" in describe(notice.event, notice.payload)[1][0]


# --- My sign-offs --------------------------------------------------------------------------------


def test_the_accountable_finds_the_bar_in_my_sign_offs(client, launch, django_capture_on_commit_callbacks):
    add_bar(launch, django_capture_on_commit_callbacks)
    client.force_login(ml_accountable(launch))
    page = client.get(reverse("web:inbox")).content.decode()
    assert "Quality bars and SLOs to agree" in page and "Quality bar: harmful_answers" in page
    assert f"{reverse('web:launch', args=[launch.slug])}#facts-qualitybar" in page


def test_who_may_not_agree_finds_nothing_to_agree(client, launch, django_capture_on_commit_callbacks):
    add_bar(launch, django_capture_on_commit_callbacks)
    for person in (ml_responsible(launch), launch.owner, accountable_of(launch, AreaKind.POLICY).user):
        client.force_login(person)
        assert "Quality bars and SLOs to agree" not in client.get(reverse("web:inbox")).content.decode()


def test_once_agreed_it_leaves_my_sign_offs(client, launch, django_capture_on_commit_callbacks):
    bar = add_bar(launch, django_capture_on_commit_callbacks)
    accountable = ml_accountable(launch)
    quality_bar_agree(actor=accountable, bar=bar, seen_version=fact_version(bar))
    client.force_login(accountable)
    assert "harmful_answers" not in client.get(reverse("web:inbox")).content.decode()


def test_my_sign_offs_costs_a_fixed_number_of_queries(
    client, launch, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    for metric in ("harmful_answers", "rude_answers", "late_answers"):
        add_bar(launch, django_capture_on_commit_callbacks, metric=metric)
    client.force_login(ml_accountable(launch))
    client.get(reverse("web:inbox"))
    with django_assert_max_num_queries(30):
        page = client.get(reverse("web:inbox")).content.decode()
    assert page.count("Quality bar: ") == 3


# --- the request page ----------------------------------------------------------------------------


def test_the_request_page_warns_while_agreements_are_pending(client, launch, django_capture_on_commit_callbacks):
    add_bar(launch, django_capture_on_commit_callbacks)
    client.force_login(launch.owner)
    page = client.get(reverse("web:request-signoffs", args=[launch.slug])).content.decode()
    assert "Agreements are still pending" in page and "Quality bar: harmful_answers" in page
    assert ml_accountable(launch).get_full_name() in page
    assert "Wait for the agreements" in page and "Request sign-offs anyway" in page


def test_no_warning_when_everything_is_agreed(client, launch):
    client.force_login(launch.owner)
    page = client.get(reverse("web:request-signoffs", args=[launch.slug])).content.decode()
    assert "Agreements are still pending" not in page and "Request sign-offs anyway" not in page


def test_the_quick_request_waits_while_agreements_are_pending(client, launch, django_capture_on_commit_callbacks):
    add_bar(launch, django_capture_on_commit_callbacks)
    client.force_login(launch.owner)
    url = reverse("web:request-signoffs", args=[launch.slug])
    response = client.post(url, {"due_date": "", "message": "Please look at it this week."})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Agreements are pending; nothing was requested yet." in page and "Agreements are still pending" in page
    assert "Please look at it this week." in page  # what the owner typed is kept
    assert not SignoffRequest.objects.filter(launch=launch).exists()


def test_asking_anyway_from_the_request_page_requests(client, launch, django_capture_on_commit_callbacks):
    add_bar(launch, django_capture_on_commit_callbacks)
    client.force_login(launch.owner)
    url = reverse("web:request-signoffs", args=[launch.slug])
    shown = client.get(url)
    form = shown.context["form"]
    data = {"choose": "1", "due_date": "", "message": ""}
    for name in form.fields:
        if name.startswith("addressees_"):
            data[name] = [str(value) for value in form[name].initial]
    assert client.post(url, data).status_code == 302
    assert SignoffRequest.objects.filter(launch=launch).count() == 4


def test_the_quick_request_proceeds_when_nothing_is_pending(client, launch):
    client.force_login(launch.owner)
    client.post(reverse("web:request-signoffs", args=[launch.slug]), {"due_date": "", "message": ""})
    assert SignoffRequest.objects.filter(launch=launch).count() == 4


def test_an_accountable_named_later_is_told_too(launch, django_capture_on_commit_callbacks):
    from raci.choices import TeamFunction
    from tests.builders import team_for
    from tests.factories import RaciAssignmentFactory, StakeholderFactory

    add_bar(launch, django_capture_on_commit_callbacks)
    area = launch.areas.get(kind=AreaKind.MODEL_QUALITY)
    area.assignments.filter(role=Role.ACCOUNTABLE).delete()
    newcomer = StakeholderFactory(teams=[team_for(TeamFunction.ML)])
    with django_capture_on_commit_callbacks(execute=True):
        RaciAssignmentFactory(area=area, role=Role.ACCOUNTABLE, stakeholder=newcomer)
    assert waiting_notices(newcomer.user).count() == 1
