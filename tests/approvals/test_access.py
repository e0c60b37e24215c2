"""Fetching sign-off requests, waivers and acknowledgements for a user, as views and the API will:
404 for what the user may not know of (exactly like an unknown id), 403 for what they may see
but not act on."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from approvals.access import get_acknowledgement_for, get_signoff_for, get_waiver_for
from approvals.models import Acknowledgement
from approvals.services import signoff_delegate, signoffs_request, waiver_request
from raci.choices import AreaKind, Role, TeamFunction
from tests.factories import RaciAssignmentFactory, StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def legal(launch, owner):
    (request,) = signoffs_request(
        actor=owner, launch=launch, stage=launch.stages.get(name="Beta"), functions=[TeamFunction.LEGAL]
    )
    return request


@pytest.fixture
def waiver(launch, owner):
    return waiver_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        check_key="rollback_plan",
        justification="Rehearsal booked for next week.",
        expires_on=timezone.localdate() + datetime.timedelta(days=7),
    )


@pytest.fixture
def acknowledgement(launch, owner):
    consulted = StakeholderFactory(user=UserFactory(username="consulted"))
    RaciAssignmentFactory(area=launch.areas.get(kind=AreaKind.POLICY), stakeholder=consulted, role=Role.CONSULTED)
    signoffs_request(actor=owner, launch=launch, stage=launch.stages.get(name="Internal"))
    return Acknowledgement.objects.get(user=consulted.user)


def test_an_addressee_gets_the_request_to_decide(legal):
    addressee = legal.addressees.get()
    assert get_signoff_for(addressee, legal.pk, to_decide=True) == legal


def test_the_owner_may_view_the_request_but_deciding_it_is_forbidden(legal, owner):
    assert get_signoff_for(owner, legal.pk) == legal
    with pytest.raises(PermissionDenied):
        get_signoff_for(owner, legal.pk, to_decide=True)


def test_only_an_addressee_gets_the_request_to_delegate_not_its_delegate(legal, owner):
    addressee = legal.addressees.get()
    assert get_signoff_for(addressee, legal.pk, to_delegate=True) == legal
    colleague = StakeholderFactory(teams=list(addressee.stakeholder.teams.all())).user
    signoff_delegate(actor=addressee, signoff=legal, delegate=colleague)
    assert get_signoff_for(colleague, legal.pk, to_decide=True) == legal
    for user in (colleague, owner):
        with pytest.raises(PermissionDenied, match="Only an addressee of this request may delegate it."):
            get_signoff_for(user, legal.pk, to_delegate=True)


@pytest.mark.parametrize("who", ["outsider", "anonymous", "inactive addressee"])
def test_a_request_one_may_not_know_of_answers_404_like_an_unknown_one(legal, outsider, who):
    user = {"outsider": outsider, "anonymous": AnonymousUser(), "inactive addressee": legal.addressees.get()}[who]
    if who == "inactive addressee":
        user.is_active = False
        user.save()
    for pk in (legal.pk, 999_999, "not-a-number"):
        with pytest.raises(Http404):
            get_signoff_for(user, pk)


def test_a_stakeholder_gets_a_waiver_and_an_outsider_gets_not_found(waiver, viewer, outsider):
    assert get_waiver_for(viewer, waiver.pk) == waiver
    for user, pk in ((outsider, waiver.pk), (viewer, 999_999)):
        with pytest.raises(Http404):
            get_waiver_for(user, pk)


def test_only_the_person_consulted_gets_an_acknowledgement_to_acknowledge(acknowledgement, owner, outsider):
    assert get_acknowledgement_for(acknowledgement.user, acknowledgement.pk, to_acknowledge=True) == acknowledgement
    assert get_acknowledgement_for(owner, acknowledgement.pk) == acknowledgement
    with pytest.raises(PermissionDenied):
        get_acknowledgement_for(owner, acknowledgement.pk, to_acknowledge=True)
    with pytest.raises(Http404):
        get_acknowledgement_for(outsider, acknowledgement.pk)
