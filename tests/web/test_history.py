"""The launch's history tab: field-level changes with who and when, and its ledger entries; shown
to whoever may view the launch, in a number of queries that does not grow with the history."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from raci.choices import AreaKind
from readiness.models import DataAsset
from readiness.services import fact_add, fact_change, fact_version
from tests.builders import accountable_of
from tests.factories import UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


def history(client, user, launch):
    client.force_login(user)
    return client.get(reverse("web:history", args=[launch.slug]))


def change_latency(launch, target: str) -> None:
    slo = launch.slos.get(indicator="latency_p95")
    fact_change(actor=launch.owner, fact=slo, seen_version=fact_version(slo), values={"target": Decimal(target)})


def test_each_change_shows_who_when_and_old_to_new(client, launch):
    change_latency(launch, "3500")
    page = history(client, launch.owner, launch).content.decode()
    assert "SLO “Latency p95 (ms)”" in page
    assert "target: 3000.000 → 3500.000" in page
    assert "Pam Okafor" in page
    assert "Quality bar agreed" in page  # the ledger's entries for this launch
    # A changed reference reads as the person, not a row id.
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY)
    assert f"agreed by: — → {accountable.user.get_full_name()}" in page


def test_user_text_is_escaped(client, launch):
    fact_add(
        actor=launch.owner,
        launch=launch,
        model=DataAsset,
        values={"name": "<script>alert(1)</script>", "classification": "public", "access_level": "open"},
    )
    page = history(client, launch.owner, launch).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_viewer_reads_it_and_an_outsider_is_told_it_does_not_exist(client, launch):
    assert history(client, give_view(UserFactory(), launch), launch).status_code == 200
    assert history(client, UserFactory(), launch).status_code == 404


def test_the_history_costs_the_same_queries_however_long_it_is(client, launch):
    history(client, launch.owner, launch)
    with CaptureQueriesContext(connection) as short:
        history(client, launch.owner, launch)
    for target in range(3100, 3400, 10):
        change_latency(launch, str(target))
    with CaptureQueriesContext(connection) as long:
        page = history(client, launch.owner, launch).content.decode()
    assert "target: 3380.000 → 3390.000" in page
    # A page costs a few queries per kind of fact shown on it, never per change: thirty changes
    # more cost nothing more (here fewer: the newest page holds fewer kinds).
    assert len(long) <= len(short)


def history_with(client, user, launch, **params):
    client.force_login(user)
    return client.get(reverse("web:history", args=[launch.slug]), params)


def test_the_history_narrows_to_one_kind_of_change_and_hides_the_ledger(client, launch):
    change_latency(launch, "3500")
    page = history_with(client, launch.owner, launch, kind="readiness.slo").content.decode()
    assert "SLO “Latency p95 (ms)”" in page
    assert "Data asset “" not in page
    assert 'id="ledger-heading"' not in page
    ledger = history_with(client, launch.owner, launch, kind="ledger").content.decode()
    assert "Quality bar agreed" in ledger and "0 changes" in ledger


def test_the_history_narrows_to_one_person_in_the_changes_and_the_ledger(client, launch):
    change_latency(launch, "3500")
    accountable = accountable_of(launch, AreaKind.MODEL_QUALITY).user
    mine = history_with(client, launch.owner, launch, person=launch.owner.pk).content.decode()
    assert "target: 3000.000 → 3500.000" in mine and "Quality bar agreed" not in mine
    theirs = history_with(client, launch.owner, launch, person=accountable.pk).content.decode()
    assert "target: 3000.000 → 3500.000" not in theirs and "Quality bar agreed" in theirs


def test_the_history_narrows_to_a_range_of_days(client, launch):
    change_latency(launch, "3500")
    today = timezone.localdate()
    shown = history_with(client, launch.owner, launch, since=today.isoformat(), until=today.isoformat())
    assert "target: 3000.000 → 3500.000" in shown.content.decode()
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    later = history_with(client, launch.owner, launch, since=tomorrow).content.decode()
    assert "No change matches these filters." in later and "No ledger entry matches these filters." in later
    earlier = history_with(client, launch.owner, launch, until=(today - datetime.timedelta(days=1)).isoformat())
    assert "No change matches these filters." in earlier.content.decode()


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "2026-13-45"}, "since"),
        ({"kind": "auth.user"}, "kind"),
        ({"person": "999999"}, "person"),
        ({"person": "pam"}, "person"),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
    ],
)
def test_filters_that_cannot_be_read_are_said_beside_their_field_not_a_server_error(client, launch, params, field):
    response = history_with(client, launch.owner, launch, **params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Some of the filters could not be read; the whole history is shown." in page
    assert 'class="field-error"' in page
    assert response.context["filters"].form.errors.keys() == {field}


def test_people_offered_are_only_those_in_this_launch_s_history(client, launch):
    stranger = UserFactory(first_name="Zed")
    offered = history(client, launch.owner, launch).context["filters"].form.fields["person"].queryset
    assert launch.owner in offered and stranger not in offered
    assert history_with(client, launch.owner, launch, person=stranger.pk).status_code == 400


def test_the_changes_are_paged_and_the_pages_keep_the_filters(client, launch, django_assert_max_num_queries):
    for target in range(3100, 3100 + 10 * 55, 10):
        change_latency(launch, str(target))
    client.force_login(launch.owner)
    url = reverse("web:history", args=[launch.slug])
    with django_assert_max_num_queries(60):
        first = client.get(url, {"kind": "readiness.slo"})
    page = first.content.decode()
    assert first.context["changes"].paginator.num_pages == 2
    assert "target: 3630.000 → 3640.000" in page
    assert "?kind=readiness.slo&amp;page=2" in page
    with django_assert_max_num_queries(60):
        second = client.get(url, {"kind": "readiness.slo", "page": 2}).content.decode()
    assert "target: 3630.000 → 3640.000" not in second and "target: 3000.000 → 3100.000" in second
