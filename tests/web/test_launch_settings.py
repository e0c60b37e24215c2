"""The launch itself in the browser: its owner edits its name, dates and serving version as of the
version shown; raises its risk tier at once but only asks to lower it, and an executive (never the
owner) decides; archives and reopens it with a reason. Everyone else is refused."""

import datetime

import pytest
from django.urls import reverse

from approvals.models import PolicyChange
from ledger.events import LedgerEvent
from ledger.models import LedgerEntry
from raci.models import Stakeholder
from readiness.models import Launch
from readiness.services import fact_version, launch_change
from tests.builders import ready_launch
from tests.factories import UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared_launch(module_transaction) -> int:
    return ready_launch(owner=UserFactory(username="pam"), slug="settings").pk


@pytest.fixture
def owner(client, launch):
    client.force_login(launch.owner)
    return client


@pytest.fixture
def executive(db):
    return Stakeholder.objects.filter(teams__function="executive").first().user


def url(name: str, launch: Launch, *args) -> str:
    return reverse(f"web:{name}", args=[launch.slug, *args])


def form_data(launch: Launch, **changes) -> dict:
    data = {
        "name": launch.name,
        "summary": launch.summary,
        "owner": launch.owner_id,
        "target_date": launch.target_date.isoformat() if launch.target_date else "",
        "serving_version": launch.serving_version,
        "risk_tier": launch.risk_tier,
        "justification": "",
        "seen_version": fact_version(launch),
    }
    return {**data, **changes}


def test_the_owner_edits_the_launch_and_history_names_them(owner, launch):
    page = owner.get(url("launch", launch)).content.decode()
    assert url("edit-launch", launch) in page and url("archive-launch", launch) in page
    target = datetime.date.today() + datetime.timedelta(days=30)
    response = owner.post(
        url("edit-launch", launch),
        form_data(launch, name="Support assistant v2", target_date=target.isoformat(), serving_version="prompt-v8"),
    )
    assert response.status_code == 302
    launch.refresh_from_db()
    assert (launch.name, launch.target_date, launch.serving_version) == ("Support assistant v2", target, "prompt-v8")
    assert launch.history.first().history_user == launch.owner


def test_bad_input_is_named_and_nothing_is_saved(owner, launch):
    response = owner.post(url("edit-launch", launch), form_data(launch, name="", target_date="31/02/2026"))
    assert response.status_code == 200
    assert {"name", "target_date"} <= set(response.context["form"].errors)
    assert Launch.objects.get(pk=launch.pk).name == launch.name


def test_an_edit_on_a_version_changed_since_is_refused_showing_the_change(owner, launch):
    seen = form_data(launch, name="Mine")
    launch_change(actor=launch.owner, launch=launch, seen_version=fact_version(launch), values={"name": "Theirs"})
    response = owner.post(url("edit-launch", launch), seen)
    assert response.status_code == 200
    assert any("Theirs" in line for line in response.context["conflict"])
    assert Launch.objects.get(pk=launch.pk).name == "Theirs"
    assert response.context["form"].initial["name"] == "Theirs"


def test_raising_the_risk_tier_applies_at_once_and_is_ledgered(owner, launch):
    response = owner.post(url("edit-launch", launch), form_data(launch, risk_tier="high"))
    assert response.status_code == 302
    assert Launch.objects.get(pk=launch.pk).risk_tier == "high"
    assert LedgerEntry.objects.filter(launch=launch, event=LedgerEvent.RISK_TIER_CHANGED).exists()


def test_lowering_the_risk_tier_needs_a_reason_and_only_asks(owner, launch):
    refused = owner.post(url("edit-launch", launch), form_data(launch, risk_tier="low"))
    assert "justification" in refused.context["form"].errors
    assert not PolicyChange.objects.filter(launch=launch).exists()

    asked = owner.post(url("edit-launch", launch), form_data(launch, risk_tier="low", justification="Internal only."))
    assert asked.status_code == 302
    assert Launch.objects.get(pk=launch.pk).risk_tier == "medium"
    change = PolicyChange.objects.get(launch=launch)
    assert (change.risk_tier, change.status) == ("low", "pending")
    page = owner.get(url("launch", launch)).content.decode()
    assert "Lower the risk tier to Low (it is Medium now)." in page and "Internal only." in page
    assert url("decide-policy-change", launch, change.pk) not in page  # never the owner's to decide
    assert owner.get(url("decide-policy-change", launch, change.pk)).status_code == 403


def test_an_executive_decides_a_lower_risk_tier(client, launch, executive):
    change = _lowering(client, launch)
    client.force_login(executive)
    assert url("decide-policy-change", launch, change.pk) in client.get(url("launch", launch)).content.decode()
    refused = client.post(url("decide-policy-change", launch, change.pk), {"approve": "no", "comment": ""})
    assert "comment" in refused.context["form"].errors
    assert PolicyChange.objects.get(pk=change.pk).status == "pending"
    done = client.post(url("decide-policy-change", launch, change.pk), {"approve": "yes", "comment": "Agreed."})
    assert done.status_code == 302
    assert Launch.objects.get(pk=launch.pk).risk_tier == "low"
    assert PolicyChange.objects.get(pk=change.pk).decided_by == executive


def test_nobody_else_decides_and_outsiders_get_404(client, launch):
    change = _lowering(client, launch)
    client.force_login(give_view(UserFactory(), launch))
    assert client.post(url("decide-policy-change", launch, change.pk), {"approve": "yes"}).status_code == 403
    client.force_login(UserFactory())
    assert client.get(url("decide-policy-change", launch, change.pk)).status_code == 404
    assert PolicyChange.objects.get(pk=change.pk).status == "pending"


def _lowering(client, launch: Launch) -> PolicyChange:
    client.force_login(launch.owner)
    client.post(url("edit-launch", launch), form_data(launch, risk_tier="low", justification="Internal only."))
    return PolicyChange.objects.get(launch=launch)


def test_the_owner_archives_with_a_reason_and_reopens(owner, launch):
    refused = owner.post(url("archive-launch", launch), {"seen_version": fact_version(launch), "reason": " "})
    assert "reason" in refused.context["form"].errors
    assert (
        owner.post(
            url("archive-launch", launch), {"seen_version": fact_version(launch), "reason": "Cancelled."}
        ).status_code
        == 302
    )
    launch.refresh_from_db()
    assert launch.archived
    page = owner.get(url("launch", launch)).content.decode()
    assert url("edit-launch", launch) not in page and "Reopen" in page
    assert (
        owner.post(
            url("archive-launch", launch), {"seen_version": fact_version(launch), "reason": "Back on."}
        ).status_code
        == 302
    )
    assert not Launch.objects.get(pk=launch.pk).archived


def test_viewers_and_outsiders_cannot_edit_or_archive(client, launch):
    client.force_login(give_view(UserFactory(), launch))
    assert client.post(url("edit-launch", launch), form_data(launch, name="Taken")).status_code == 403
    assert client.post(url("archive-launch", launch), {"seen_version": 1, "reason": "x"}).status_code == 403
    client.force_login(UserFactory())
    assert client.get(url("edit-launch", launch)).status_code == 404
    launch.refresh_from_db()
    assert (launch.name, launch.archived) == ("Support assistant", False)


def test_handing_the_launch_over_leaves_the_old_owner_where_they_may_still_look(owner, launch):
    successor = UserFactory(username="nora")
    response = owner.post(url("edit-launch", launch), form_data(launch, owner=successor.pk))
    assert response.status_code == 302
    assert Launch.objects.get(pk=launch.pk).owner == successor
    assert response.url == reverse("web:portfolio")  # no role left on the launch


def test_my_sign_offs_lists_the_requests_an_executive_may_decide_and_counts_them(client, launch, executive):
    change = _lowering(client, launch)
    client.force_login(executive)
    response = client.get(reverse("web:inbox"))
    assert list(response.context["policy_changes"]) == [change]
    assert url("decide-policy-change", launch, change.pk) in response.content.decode()
    assert response.context["awaiting_count"] == 1
    # Nobody else: not the owner who asked, not someone who merely views the launch.
    for person in (launch.owner, give_view(UserFactory(), launch)):
        client.force_login(person)
        assert list(client.get(reverse("web:inbox")).context["policy_changes"]) == []


def test_the_inbox_list_agrees_with_the_service_rule(client, launch, executive):
    from approvals.selectors import policy_changes_awaiting
    from approvals.services.policy import may_decide_policy_change

    change = _lowering(client, launch)
    people = [executive, launch.owner, give_view(UserFactory(), launch), UserFactory()]
    for person in people:
        assert (change in policy_changes_awaiting(person)) == may_decide_policy_change(person, change), person
