"""Asking again: when the facts change under an approval, the owner asks that approver again with
one click, on the same request (the other approvals stand); the approver is told once, with what
changed; a second click on the same facts changes nothing."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals.choices import NotificationEvent
from approvals.models import AskedAgain, SignoffRequest
from approvals.selectors import stage_signoffs
from approvals.services import signoff_ask_again, signoff_decide
from ledger.verification import verify
from notifications.events import describe
from notifications.models import Notification
from raci.choices import TeamFunction
from readiness.models import Launch
from tests.approvals.conftest import built_launch
from tests.builders import approve_signoffs, facts_of
from tests.factories import EvalRunFactory

pytestmark = pytest.mark.django_db


def ml_request(launch) -> SignoffRequest:
    return SignoffRequest.objects.get(launch=launch, function=TeamFunction.ML, status="approved")


def approver_of(request):
    return request.decisions.get(superseded_at__isnull=True).on_behalf_of


def new_evidence(launch, failures: int = 12, minutes: int = 1) -> None:
    """A new evaluation run: a material fact every approval of the stage covers."""
    EvalRunFactory(
        quality_bar=launch.quality_bars.get(),
        samples=1000,
        failures=failures,
        run_at=timezone.now() + datetime.timedelta(minutes=minutes),
    )


@pytest.fixture(scope="module")
def approved_launch(module_transaction) -> int:
    """The module's launch with every Internal sign-off approved, built once (see
    ``module_transaction``); its primary key."""
    launch = built_launch()
    approve_signoffs(launch, "Internal")
    return launch.pk


@pytest.fixture
def approved(approved_launch, db) -> Launch:
    """The approved launch, read back for each test (which runs in a savepoint of its own)."""
    return Launch.objects.get(pk=approved_launch)


@pytest.fixture
def stale(approved):
    new_evidence(approved)
    return approved


def asked_notices(user):
    return Notification.objects.filter(recipient=user, event=NotificationEvent.SIGNOFF_ASKED_AGAIN)


def test_the_owner_asks_a_stale_approver_again_who_is_told_once_with_the_change(stale):
    request = ml_request(stale)
    approver = approver_of(request)
    asked, new = signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    assert new and (asked.request, asked.approver, asked.asked_by) == (request, approver, stale.owner)
    (notice,) = asked_notices(approver)
    _subject, lines = describe(notice.event, notice.payload)
    assert "asks you again" in lines[0] and any("failures: 30 → 12" in line for line in lines[1:])
    # The request stays the same: the other approvals stand, nothing is superseded.
    request.refresh_from_db()
    assert request.status == "approved"
    assert verify().ok


def test_asking_again_on_the_same_facts_changes_nothing(stale):
    request = ml_request(stale)
    approver = approver_of(request)
    first, _new = signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    again, new = signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    assert (again, new) == (first, False)
    assert AskedAgain.objects.count() == 1 and asked_notices(approver).count() == 1


def test_after_another_change_the_approver_may_be_asked_again(stale):
    request = ml_request(stale)
    approver = approver_of(request)
    signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    new_evidence(stale, failures=11, minutes=2)
    _asked, new = signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    assert new and asked_notices(approver).count() == 2


def test_a_fresh_approval_is_not_asked_again(approved):
    request = ml_request(approved)
    with pytest.raises(ValidationError, match="still counts"):
        signoff_ask_again(actor=approved.owner, signoff=request, approver=approver_of(request))
    assert not AskedAgain.objects.exists()


def test_someone_with_no_approval_is_not_asked_again(stale):
    request = ml_request(stale)
    legal = SignoffRequest.objects.get(launch=stale, function=TeamFunction.LEGAL)
    with pytest.raises(ValidationError, match="no approval on this request"):
        signoff_ask_again(actor=stale.owner, signoff=request, approver=approver_of(legal))


def test_only_who_may_change_the_launch_asks_again(stale):
    request = ml_request(stale)
    approver = approver_of(request)
    with pytest.raises(PermissionDenied):
        signoff_ask_again(actor=approver, signoff=request, approver=approver)
    assert not AskedAgain.objects.exists()


def test_deciding_again_makes_the_approval_count_and_ends_the_ask(stale):
    request = ml_request(stale)
    approver = approver_of(request)
    signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    signoff_decide(actor=approver, signoff=request, outcome="approve")
    facts = facts_of(stale)
    stage = facts.stages.get(name="Internal")
    state = next(s for s in stage_signoffs(facts, stage, now=timezone.now()) if s.requirement.function == "ml")
    assert state.satisfied and not state.lapsed_approvals


def test_the_sign_off_list_marks_who_was_asked_again(stale):
    request = ml_request(stale)
    signoff_ask_again(actor=stale.owner, signoff=request, approver=approver_of(request))
    facts = facts_of(stale)
    stage = facts.stages.get(name="Internal")
    states = {s.requirement.function: s for s in stage_signoffs(facts, stage, now=timezone.now())}
    assert [d.asked_again for d in states["ml"].lapsed_approvals] == [True]
    assert [d.asked_again for d in states["legal"].lapsed_approvals] == [False]


# --- on the launch page --------------------------------------------------------------------------


def test_the_owner_sees_ask_again_per_stale_approver_and_clicks_it(client, stale):
    request = ml_request(stale)
    approver = approver_of(request)
    client.force_login(stale.owner)
    page = client.get(reverse("web:launch", args=[stale.slug])).content.decode()
    url = reverse("web:ask-again", args=[request.pk])
    assert len(re.findall(r'class="secondary">Ask [^<]+ again</button>', page)) == 4  # legal, security, product, ML
    assert f'action="{url}"' in page
    data = {"approver": str(approver.pk)}  # what the rendered form submits (its button has no name)
    assert f'name="approver" value="{approver.pk}"' in page
    response = client.post(url, data, follow=True)
    assert f"{approver.get_full_name()} is asked again" in response.content.decode()
    assert f"{approver.get_full_name()} was asked again on the current facts." in response.content.decode()
    assert client.post(url, data, follow=True).status_code == 200  # resubmitted: nothing new
    assert AskedAgain.objects.count() == 1 and asked_notices(approver).count() == 1


def test_the_approver_sees_no_ask_again_button(client, stale):
    request = ml_request(stale)
    approver = approver_of(request)
    client.force_login(approver)
    page = client.get(reverse("web:launch", args=[stale.slug])).content.decode()
    assert not re.search(r">Ask [^<]+ again</button>", page)
    response = client.post(reverse("web:ask-again", args=[request.pk]), {"approver": str(approver.pk)})
    assert response.status_code == 403
    assert not AskedAgain.objects.exists()


def test_an_outsider_gets_404_and_bad_input_is_explained(client, stale, outsider):
    request = ml_request(stale)
    url = reverse("web:ask-again", args=[request.pk])
    client.force_login(outsider)
    assert client.post(url, {"approver": "1"}).status_code == 404
    client.force_login(stale.owner)
    for bad in ("", "x", str(2**70)):
        response = client.post(url, {"approver": bad}, follow=True)
        assert "Choose whom to ask again." in response.content.decode()
    assert client.get(url).status_code == 405
    assert not AskedAgain.objects.exists()


def test_no_ask_again_while_every_approval_counts(client, approved):
    client.force_login(approved.owner)
    page = client.get(reverse("web:launch", args=[approved.slug])).content.decode()
    assert not re.search(r">Ask [^<]+ again</button>", page)


def test_the_approver_asked_again_finds_the_request_in_my_sign_offs_until_they_decide(client, stale):
    request = ml_request(stale)
    approver = approver_of(request)
    client.force_login(approver)
    decide_url = reverse("web:decide", args=[request.pk])
    assert decide_url not in client.get(reverse("web:inbox")).content.decode()
    signoff_ask_again(actor=stale.owner, signoff=request, approver=approver)
    assert decide_url in client.get(reverse("web:inbox")).content.decode()
    signoff_decide(actor=approver, signoff=request, outcome="approve")
    assert decide_url not in client.get(reverse("web:inbox")).content.decode()


def test_the_launch_page_with_lapsed_approvals_stays_within_its_query_bound(
    client, stale, django_assert_max_num_queries
):
    from tests.web.bounds import LAUNCH_PAGE_QUERIES

    request = ml_request(stale)
    signoff_ask_again(actor=stale.owner, signoff=request, approver=approver_of(request))
    client.force_login(stale.owner)
    url = reverse("web:launch", args=[stale.slug])
    client.get(url)
    with django_assert_max_num_queries(LAUNCH_PAGE_QUERIES):
        assert client.get(url).status_code == 200
