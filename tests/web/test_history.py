"""The launch's history tab: field-level changes with who and when, and its ledger entries; shown
to whoever may view the launch, in a number of queries that does not grow with the history."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

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
    assert len(long) == len(short)
