"""The decision page's two forms and their two views: ``decide`` records a decision, ``delegate``
hands it to a colleague. Each is refused on the server to whoever may not act (404 for who may not
see the launch, 403 for who sees it but may not act), needs the CSRF token, and shows bad input
again with the reason. The delegation form is posted exactly as a browser submits it, button
included: its button once shared the select's name, so the server read the button's ``1``."""

from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from approvals.models import SignoffDecision, SignoffDelegation, SignoffRequest
from approvals.services import signoff_delegate, signoff_withdraw, signoffs_request
from raci.choices import TeamFunction
from readiness.models import Launch
from tests.builders import ready_launch, team_for
from tests.factories import StakeholderFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(django_db_setup, django_db_blocker) -> int:
    with django_db_blocker.unblock(), transaction.atomic():
        yield ready_launch(owner=UserFactory(username="pam"), slug="assistant").pk
        transaction.set_rollback(True)


@pytest.fixture
def launch(shared_launch, db) -> Launch:
    return Launch.objects.select_related("owner").get(pk=shared_launch)


@pytest.fixture
def signoff(launch) -> SignoffRequest:
    """The legal sign-off for the first stage, routed to one lawyer."""
    (request,) = signoffs_request(
        actor=launch.owner, launch=launch, stage=launch.stages.order_by("order").first(), functions=["legal"]
    )
    return request


@pytest.fixture
def addressee(signoff):
    return signoff.addressees.get()


@pytest.fixture
def colleague(signoff):
    """Another lawyer: someone the addressee may delegate to."""
    return StakeholderFactory(teams=[team_for(TeamFunction.LEGAL)]).user


def decide_url(signoff) -> str:
    return reverse("web:decide", args=[signoff.pk])


def delegate_url(signoff) -> str:
    return reverse("web:delegate", args=[signoff.pk])


# --- what a browser submits ---------------------------------------------------------------------


class _Forms(HTMLParser):
    """The page's forms as a browser sees them: each form's action, its fields (name, value, and
    for a select its options) and its submit buttons (name and value, None when unnamed)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("type") not in ("submit", "radio", "checkbox"):
            self.forms[-1]["fields"].append({"name": attrs.get("name"), "value": attrs.get("value", "")})
        elif tag == "select":
            self._select = {"name": attrs.get("name"), "value": "", "options": []}
            self.forms[-1]["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value", ""))
            if "selected" in attrs:
                self._select["value"] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = {"name": attrs.get("name"), "value": ""}
            self.forms[-1]["fields"].append(self._textarea)
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            self.forms[-1]["buttons"].append((attrs.get("name"), attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_posting_to(html: str, action: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    (form,) = [form for form in parser.forms if form["action"] == action]
    return form


def browser_body(form: dict, **chosen) -> str:
    """The urlencoded body a browser sends when the form's (only) button is clicked: every named
    field in document order, with ``chosen`` values, then the button if it has a name."""
    pairs = [(field["name"], str(chosen.get(field["name"], field["value"]))) for field in form["fields"]]
    (button,) = form["buttons"]
    if button[0]:
        pairs.append(button)
    return urlencode(pairs)


def test_the_page_s_two_forms_post_to_their_own_views(client, signoff, addressee):
    client.force_login(addressee)
    html = client.get(decide_url(signoff)).content.decode()
    decision = form_posting_to(html, decide_url(signoff))
    delegation = form_posting_to(html, delegate_url(signoff))
    assert {field["name"] for field in decision["fields"]} >= {"csrfmiddlewaretoken", "comment", "fingerprint"}
    assert {field["name"] for field in delegation["fields"]} == {
        "csrfmiddlewaretoken",
        "submission",
        "delegate",
        "reason",
    }
    assert delegation["buttons"] == [(None, "")]  # no name: nothing of it reaches the server


def test_delegating_through_the_form_as_the_browser_submits_it_reaches_the_colleague(
    client, signoff, addressee, colleague
):
    client.force_login(addressee)
    form = form_posting_to(client.get(decide_url(signoff)).content.decode(), delegate_url(signoff))
    assert str(colleague.pk) in next(field for field in form["fields"] if field["name"] == "delegate")["options"]

    response = client.post(
        delegate_url(signoff),
        browser_body(form, delegate=colleague.pk, reason="On leave next week"),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 302, response.content.decode()
    delegation = SignoffDelegation.objects.get(request=signoff)
    assert (delegation.delegator, delegation.delegate, delegation.reason) == (
        addressee,
        colleague,
        "On leave next week",
    )


# --- delegate: who may, and what it refuses ----------------------------------------------------


def test_delegating_is_refused_to_everyone_but_an_addressee(client, launch, signoff, colleague):
    viewer = give_view(UserFactory(), launch)
    outsider = UserFactory()
    data = {"delegate": colleague.pk, "reason": ""}
    for user, status in ((outsider, 404), (viewer, 403), (launch.owner, 403)):
        client.force_login(user)
        assert client.post(delegate_url(signoff), data).status_code == status, user
    client.force_login(signoff.addressees.get())
    assert client.post(reverse("web:delegate", args=[999_999]), data).status_code == 404
    assert not SignoffDelegation.objects.exists()


def test_a_delegate_may_decide_but_not_hand_the_request_on(client, signoff, addressee, colleague):
    signoff_delegate(actor=addressee, signoff=signoff, delegate=colleague)
    third = StakeholderFactory(teams=[team_for(TeamFunction.LEGAL)]).user
    client.force_login(colleague)
    page = client.get(decide_url(signoff)).content.decode()
    assert "Record my decision" in page and delegate_url(signoff) not in page
    assert client.post(delegate_url(signoff), {"delegate": third.pk}).status_code == 403
    assert SignoffDelegation.objects.filter(request=signoff).count() == 1


def test_delegating_needs_a_signed_in_post_with_the_csrf_token(client, signoff, addressee, colleague):
    signed_out = client.post(delegate_url(signoff), {"delegate": colleague.pk})
    assert signed_out.status_code == 302 and signed_out.url.startswith(reverse("web:sign-in"))
    client.force_login(addressee)
    assert client.get(delegate_url(signoff)).status_code == 405
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(addressee)
    assert browser.post(delegate_url(signoff), {"delegate": colleague.pk}).status_code == 403
    assert not SignoffDelegation.objects.exists()
    form = form_posting_to(browser.get(decide_url(signoff)).content.decode(), delegate_url(signoff))
    response = browser.post(
        delegate_url(signoff),
        browser_body(form, delegate=colleague.pk),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 302
    assert SignoffDelegation.objects.filter(request=signoff, delegate=colleague).exists()


@pytest.mark.parametrize(
    ("delegate", "message"),
    [
        ("", "This field is required."),
        ("not-a-number", "Select a valid choice."),
        ("self", "Select a valid choice."),  # not offered: one cannot delegate to oneself
        ("owner", "Select a valid choice."),  # nor to the launch's owner
        ("product manager", "Select a valid choice."),  # nor outside the request's function
    ],
)
def test_a_bad_choice_shows_the_page_again_with_the_reason(client, launch, signoff, addressee, delegate, message):
    chosen = {
        "self": addressee.pk,
        "owner": launch.owner.pk,
        "product manager": StakeholderFactory(teams=[team_for(TeamFunction.PRODUCT)]).user.pk,
    }.get(delegate, delegate)
    client.force_login(addressee)
    response = client.post(delegate_url(signoff), {"delegate": chosen, "reason": ""})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "The facts you are deciding on" in response.content.decode()
    assert not SignoffDelegation.objects.exists()


def test_a_closed_request_is_not_delegated_and_the_page_says_why(client, launch, signoff, addressee, colleague):
    signoff_withdraw(actor=launch.owner, signoff=signoff, reason="Too early")
    client.force_login(addressee)
    response = client.post(delegate_url(signoff), {"delegate": colleague.pk})
    assert response.status_code == 200
    assert "it can no longer be acted on" in response.content.decode()
    assert not SignoffDelegation.objects.exists()


# --- decide: who may, and what it refuses ------------------------------------------------------


def shown_fingerprint(client, signoff) -> str:
    return client.get(decide_url(signoff)).context["form"].initial["fingerprint"]


def test_deciding_is_refused_to_everyone_but_an_addressee_or_their_delegate(client, launch, signoff):
    viewer = give_view(UserFactory(), launch)
    client.force_login(viewer)
    shown = shown_fingerprint(client, signoff)
    assert "not yours to decide" in client.get(decide_url(signoff)).content.decode()
    data = {"outcome": "approve", "fingerprint": shown}
    for user, status in ((UserFactory(), 404), (viewer, 403), (launch.owner, 403)):
        client.force_login(user)
        assert client.post(decide_url(signoff), data).status_code == status, user
        assert client.post(decide_url(signoff), {}).status_code == status, user  # refused before reading input
    assert not SignoffDecision.objects.exists()


def test_deciding_needs_the_csrf_token(signoff, addressee):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(addressee)
    form = form_posting_to(browser.get(decide_url(signoff)).content.decode(), decide_url(signoff))
    data = {field["name"]: field["value"] for field in form["fields"]}
    without = {name: value for name, value in data.items() if name != "csrfmiddlewaretoken"}
    assert browser.post(decide_url(signoff), {**without, "outcome": "approve"}).status_code == 403
    assert not SignoffDecision.objects.exists()
    assert browser.post(decide_url(signoff), {**data, "outcome": "approve"}).status_code == 302
    assert SignoffDecision.objects.get(request=signoff).decided_by == addressee


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": "maybe"}, "Select a valid choice."),
        ({"outcome": "approve", "fingerprint": ""}, ""),  # only a forged post lacks the page's fingerprint
        ({"outcome": "reject"}, "A comment is required to reject."),
    ],
)
def test_a_bad_decision_shows_the_page_again_with_the_reason(client, signoff, addressee, data, message):
    client.force_login(addressee)
    response = client.post(decide_url(signoff), {"fingerprint": shown_fingerprint(client, signoff), **data})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SignoffDecision.objects.exists()


def test_the_decision_view_never_delegates(client, signoff, addressee, colleague):
    client.force_login(addressee)
    response = client.post(decide_url(signoff), {"delegate": colleague.pk, "reason": "On leave"})
    assert response.status_code == 200
    assert not SignoffDelegation.objects.exists() and not SignoffDecision.objects.exists()
