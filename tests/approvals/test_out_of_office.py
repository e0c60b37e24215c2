"""Out of office: an approver names a colleague of the same function for a period; new requests
routed to them in that period go to the colleague (never the launch's owner), and the period is
recorded, ledgered and may be ended early. The page posts exactly what its form submits."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals.models import OutOfOffice
from approvals.routing import default_addressees
from approvals.services import out_of_office_end, out_of_office_set
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from ledger.verification import verify
from raci.choices import AreaKind, Role, TeamFunction
from tests.builders import accountable_of, request_for, team_for
from tests.factories import StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


def ml_accountable(launch):
    return accountable_of(launch, AreaKind.MODEL_QUALITY).user


def ml_colleague(launch):
    """The model-quality Responsible: in the ML team with its Accountable."""
    return launch.areas.get(kind=AreaKind.MODEL_QUALITY).assignments.get(role=Role.RESPONSIBLE).stakeholder.user


def away(person, delegate, *, start=None, days=5):
    start = start or TODAY()
    return out_of_office_set(actor=person, delegate=delegate, starts_on=start, ends_on=start + days * DAY)


def refused(field, fragment, **kwargs):
    with pytest.raises(ValidationError) as error:
        out_of_office_set(**kwargs)
    assert fragment in " ".join(error.value.message_dict[field])


# --- setting a period ----------------------------------------------------------------------------


def test_an_approver_sets_a_colleague_for_a_period_recorded_and_ledgered(launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    before = LedgerEntry.objects.filter(event=LedgerEvent.FACT_RECORDED).count()
    period = away(person, colleague)
    assert (period.person, period.delegate, period.ended_at) == (person, colleague, None)
    assert period.history.get().history_user == person
    assert LedgerEntry.objects.filter(event=LedgerEvent.FACT_RECORDED).count() == before + 1
    assert verify().ok


def test_the_last_day_before_the_first_is_refused(launch):
    refused(
        "ends_on",
        "before the first day",
        actor=ml_accountable(launch),
        delegate=ml_colleague(launch),
        starts_on=TODAY() + 3 * DAY,
        ends_on=TODAY() + DAY,
    )


def test_a_period_starting_in_the_past_is_refused(launch):
    refused(
        "starts_on",
        "in the past",
        actor=ml_accountable(launch),
        delegate=ml_colleague(launch),
        starts_on=TODAY() - DAY,
        ends_on=TODAY(),
    )


def test_a_period_longer_than_an_absence_is_refused(launch):
    refused(
        "ends_on",
        "at most",
        actor=ml_accountable(launch),
        delegate=ml_colleague(launch),
        starts_on=TODAY(),
        ends_on=TODAY() + 200 * DAY,
    )


def test_nobody_stands_in_for_themselves(launch):
    person = ml_accountable(launch)
    refused("delegate", "someone else", actor=person, delegate=person, starts_on=TODAY(), ends_on=TODAY())


def test_a_person_of_another_function_cannot_stand_in(launch):
    lawyer = accountable_of(launch, AreaKind.POLICY).user
    refused(
        "delegate",
        "not in a team with you",
        actor=ml_accountable(launch),
        delegate=lawyer,
        starts_on=TODAY(),
        ends_on=TODAY(),
    )


def test_a_deactivated_colleague_cannot_stand_in(launch):
    colleague = ml_colleague(launch)
    colleague.is_active = False
    colleague.save()
    refused(
        "delegate", "deactivated", actor=ml_accountable(launch), delegate=colleague, starts_on=TODAY(), ends_on=TODAY()
    )


def test_overlapping_periods_are_refused_and_adjacent_ones_allowed(launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    away(person, colleague, days=5)
    refused(
        "starts_on",
        "already out of office",
        actor=person,
        delegate=colleague,
        starts_on=TODAY() + 5 * DAY,
        ends_on=TODAY() + 8 * DAY,
    )
    later = away(person, colleague, start=TODAY() + 6 * DAY, days=2)
    assert later.pk


def test_an_ended_period_no_longer_blocks_a_new_one(launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    out_of_office_end(actor=person, period=away(person, colleague))
    assert away(person, colleague).pk


# --- routing -------------------------------------------------------------------------------------


def test_a_new_request_in_the_period_goes_to_the_colleague(launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    assert default_addressees(launch, TeamFunction.ML, exclude_user_id=launch.owner_id) == [person]
    away(person, colleague)
    request = request_for(launch, launch.owner, TeamFunction.ML)
    assert list(request.addressees.all()) == [colleague]


def test_before_the_period_starts_the_approver_is_asked(launch):
    person = ml_accountable(launch)
    away(person, ml_colleague(launch), start=TODAY() + DAY)
    assert list(request_for(launch, launch.owner, TeamFunction.ML).addressees.all()) == [person]


def test_after_ending_the_period_the_approver_is_asked_again(launch):
    person = ml_accountable(launch)
    out_of_office_end(actor=person, period=away(person, ml_colleague(launch)))
    assert list(request_for(launch, launch.owner, TeamFunction.ML).addressees.all()) == [person]


def test_the_launch_owner_never_stands_in_for_their_own_launch(launch):
    """Separation of duties: the owner in the ML team, named as stand-in, is never asked."""
    person = ml_accountable(launch)
    owner = launch.owner
    StakeholderFactory(user=owner, teams=[team_for(TeamFunction.ML)])
    away(person, owner)
    assert default_addressees(launch, TeamFunction.ML, exclude_user_id=UserFactory().pk) == [person]
    assert list(request_for(launch, owner, TeamFunction.ML).addressees.all()) == [person]


def test_a_stand_in_who_left_the_function_is_not_asked(launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    away(person, colleague)
    colleague.stakeholder.teams.clear()
    assert list(request_for(launch, launch.owner, TeamFunction.ML).addressees.all()) == [person]


def test_requests_already_made_stay_with_the_approver(launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    request = request_for(launch, launch.owner, TeamFunction.ML)
    away(person, colleague)
    assert list(request.addressees.all()) == [person]


# --- ending early --------------------------------------------------------------------------------


def test_the_person_ends_their_period_early_recorded(launch):
    person = ml_accountable(launch)
    period = out_of_office_end(actor=person, period=away(person, ml_colleague(launch)))
    assert period.ended_at is not None
    assert [h.history_change_reason for h in period.history.order_by("history_id")][-1] == "Out of office ended early"
    assert verify().ok


def test_nobody_else_ends_a_period(launch):
    period = away(ml_accountable(launch), ml_colleague(launch))
    with pytest.raises(PermissionDenied):
        out_of_office_end(actor=ml_colleague(launch), period=period)
    period.refresh_from_db()
    assert period.ended_at is None


def test_ending_twice_is_refused(launch):
    person = ml_accountable(launch)
    period = out_of_office_end(actor=person, period=away(person, ml_colleague(launch)))
    with pytest.raises(ValidationError, match="already ended"):
        out_of_office_end(actor=person, period=period)


# --- the page ------------------------------------------------------------------------------------


def _form(person, colleague, start, end) -> dict:
    return {
        "delegate": str(colleague.pk),
        "starts_on": start.isoformat(),
        "ends_on": end.isoformat(),
        "reason": "Holiday",
    }


def test_the_page_sets_a_period_through_its_form(client, launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    client.force_login(person)
    page = client.get(reverse("web:out-of-office")).content.decode()
    assert f'value="{colleague.pk}"' in page and '<button type="submit">Set out of office</button>' in page
    response = client.post(reverse("web:out-of-office"), _form(person, colleague, TODAY(), TODAY() + DAY))
    assert response.status_code == 302
    assert OutOfOffice.objects.get(person=person).delegate == colleague


def test_the_page_explains_bad_input(client, launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    client.force_login(person)
    response = client.post(reverse("web:out-of-office"), _form(person, colleague, TODAY() + 2 * DAY, TODAY()))
    assert response.status_code == 200
    assert "The last day is before the first day." in response.content.decode()
    lawyer = accountable_of(launch, AreaKind.POLICY).user
    response = client.post(reverse("web:out-of-office"), _form(person, lawyer, TODAY(), TODAY()))
    assert "Choose a colleague from one of your teams." in response.content.decode()
    assert not OutOfOffice.objects.filter(person=person).exists()


def test_someone_in_no_team_is_told_nobody_can_stand_in(client, db):
    client.force_login(UserFactory())
    assert "You are in no team" in client.get(reverse("web:out-of-office")).content.decode()


def test_the_page_ends_only_ones_own_period(client, launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    period = away(person, colleague)
    client.force_login(colleague)
    assert client.post(reverse("web:out-of-office-end", args=[period.pk]), {"action": "end"}).status_code == 404
    client.force_login(person)
    assert client.post(reverse("web:out-of-office-end", args=[period.pk]), {"action": "end"}).status_code == 302
    period.refresh_from_db()
    assert period.ended_at is not None
    page = client.get(reverse("web:out-of-office")).content.decode()
    assert "ended early" in page


def test_the_page_needs_signing_in(client, db):
    assert client.get(reverse("web:out-of-office")).status_code == 302
    assert OutOfOffice.objects.count() == 0


def test_the_page_costs_a_fixed_number_of_queries(client, launch, django_assert_max_num_queries):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    for days in range(3):
        out_of_office_end(actor=person, period=away(person, colleague, start=TODAY() + days * DAY, days=0))
    client.force_login(person)
    client.get(reverse("web:out-of-office"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("web:out-of-office")).status_code == 200


def test_someone_alone_in_their_team_is_told_to_ask_for_a_colleague(client, db):
    alone = StakeholderFactory(teams=[team_for(TeamFunction.COMPLIANCE)]).user
    client.force_login(alone)
    page = client.get(reverse("web:out-of-office")).content.decode()
    assert "Nobody else is in your teams yet" in page and 'name="delegate"' not in page


def test_an_id_out_of_range_is_a_form_error(client, launch):
    person = ml_accountable(launch)
    client.force_login(person)
    data = {"delegate": "99999999999999999999999", "starts_on": TODAY().isoformat(), "ends_on": TODAY().isoformat()}
    response = client.post(reverse("web:out-of-office"), {**data, "action": "set-out-of-office"})
    assert response.status_code == 200 and "Choose a colleague from one of your teams." in response.content.decode()
    assert client.post(reverse("web:out-of-office-end", args=[2**63 - 1])).status_code == 404


def test_the_request_page_names_whom_the_colleague_stands_in_for(client, launch):
    person, colleague = ml_accountable(launch), ml_colleague(launch)
    away(person, colleague)
    client.force_login(launch.owner)
    page = client.get(reverse("web:request-signoffs", args=[launch.slug])).content.decode()
    assert f"{colleague.get_full_name()} (standing in for {person.get_full_name()}, out of office)" in page
