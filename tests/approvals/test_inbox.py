"""What waits for an approver: requests addressed or delegated to them, still open, not yet decided."""

import pytest
from django.contrib.auth.models import AnonymousUser

from approvals.selectors import requests_awaiting
from approvals.services import signoff_decide, signoff_delegate, signoff_withdraw, signoffs_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def legal_request(launch, owner, addressee):
    return signoffs_request(
        actor=owner,
        launch=launch,
        stage=launch.stages.get(name="Beta"),
        functions=["legal"],
        addressees={"legal": [addressee]},
    )[0]


def test_a_request_waits_for_its_addressee_only(legal_request, addressee, delegate, owner, outsider):
    assert list(requests_awaiting(addressee)) == [legal_request]
    for user in (delegate, owner, outsider, AnonymousUser()):
        assert list(requests_awaiting(user)) == []


def test_a_delegated_request_waits_for_the_delegate_too(legal_request, addressee, delegate):
    signoff_delegate(actor=addressee, signoff=legal_request, delegate=delegate)
    assert list(requests_awaiting(delegate)) == [legal_request]


def test_a_decided_or_withdrawn_request_no_longer_waits(legal_request, addressee, owner):
    signoff_decide(actor=addressee, signoff=legal_request, outcome="approve")
    assert list(requests_awaiting(addressee)) == []
    again = signoffs_request(
        actor=owner,
        launch=legal_request.launch,
        stage=legal_request.stage,
        functions=["legal"],
        addressees={"legal": [addressee]},
    )[0]
    assert list(requests_awaiting(addressee)) == [again]
    signoff_withdraw(actor=owner, signoff=again)
    assert list(requests_awaiting(addressee)) == []


def test_a_superuser_inbox_holds_only_what_is_addressed_to_them(legal_request, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests")
    assert list(requests_awaiting(admin)) == []
