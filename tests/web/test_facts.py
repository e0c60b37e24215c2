"""Editing facts in the browser: forms built from each fact kind, saved through the fact services.
Bad input is named field by field and nothing is saved; an edit on a version someone changed since
is refused and shows their change; viewers get 403 and outsiders 404, whatever they post."""

from decimal import Decimal

import pytest
from django.urls import reverse

from readiness.models import SLO, FeedbackChannel, Launch
from readiness.services import fact_change, fact_version
from tests.builders import ready_launch
from tests.factories import EvalRunFactory, UserFactory
from tests.helpers import give_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, launch):
    client.force_login(launch.owner)
    return client


def url(name: str, launch: Launch, *args) -> str:
    return reverse(f"web:{name}", args=[launch.slug, *args])


def test_the_launch_page_lists_the_facts_with_controls_for_the_owner(owner, launch):
    page = owner.get(url("launch", launch)).content.decode()
    assert 'id="facts"' in page
    assert url("fact-add", launch, "slo") in page
    slo = launch.slos.get(indicator="latency_p95")
    assert url("fact-change", launch, "slo", slo.pk) in page
    run = launch.quality_bars.get().eval_runs.get()
    # Evidence is not the owner's to remove: no remove control for it.
    assert url("fact-remove", launch, "evalrun", run.pk) not in page


def test_the_owner_adds_a_fact_and_history_names_them(owner, launch):
    response = owner.post(
        url("fact-add", launch, "feedbackchannel"),
        {"kind": "low_confidence", "description": "Answers below 0.4 confidence", "review_cadence": "weekly"},
    )
    assert response.status_code == 302
    channel = launch.feedback_channels.get(kind="low_confidence")
    assert channel.history.get().history_user == launch.owner


def test_bad_input_is_named_by_field_and_nothing_is_saved(owner, launch):
    slo = launch.slos.get(indicator="latency_p95")
    response = owner.post(
        url("fact-change", launch, "slo", slo.pk),
        {
            "target": "-5",
            "alert_threshold": "5000",
            "dashboard_link": "javascript:alert(1)",
            "seen_version": fact_version(slo),
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "target" in errors and "dashboard_link" in errors
    assert SLO.objects.get(pk=slo.pk).target == Decimal("3000")


def test_an_edit_on_a_version_changed_since_is_refused_showing_the_change(owner, launch):
    slo = launch.slos.get(indicator="latency_p95")
    seen = fact_version(slo)
    fact_change(actor=launch.owner, fact=slo, seen_version=seen, values={"target": Decimal("3500")})
    response = owner.post(
        url("fact-change", launch, "slo", slo.pk),
        {"target": "2000", "alert_threshold": "5000", "dashboard_link": "", "seen_version": seen},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Someone changed this while you were editing:" in page
    assert "3000.000 → 3500.000" in page
    assert SLO.objects.get(pk=slo.pk).target == Decimal("3500")


def test_removing_needs_a_reason_and_keeps_it_in_history(owner, launch):
    channel = launch.feedback_channels.get()
    missing = owner.post(
        url("fact-remove", launch, "feedbackchannel", channel.pk), {"seen_version": fact_version(channel), "reason": ""}
    )
    assert "This field is required." in missing.content.decode()
    done = owner.post(
        url("fact-remove", launch, "feedbackchannel", channel.pk),
        {"seen_version": fact_version(channel), "reason": "Merged"},
    )
    assert done.status_code == 302
    assert not FeedbackChannel.objects.filter(pk=channel.pk).exists()
    assert (
        FeedbackChannel.history.filter(id=channel.pk, history_type="-").get().history_change_reason == "Removed: Merged"
    )


def test_evidence_posted_for_removal_by_the_owner_is_refused_and_kept(owner, launch):
    run = launch.quality_bars.get().eval_runs.get()
    response = owner.post(
        url("fact-remove", launch, "evalrun", run.pk), {"seen_version": fact_version(run), "reason": "Flaky"}
    )
    assert response.status_code == 200
    assert "only by the Accountable" in response.content.decode()
    assert launch.quality_bars.get().eval_runs.filter(pk=run.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_viewer_gets_403_and_an_outsider_404_and_nothing_changes(client, launch, method):
    slo = launch.slos.get(indicator="latency_p95")
    viewer = give_view(UserFactory(), launch)
    data = {"target": "1", "alert_threshold": "2", "seen_version": fact_version(slo)}
    for user, status in ((viewer, 403), (UserFactory(), 404)):
        client.force_login(user)
        assert getattr(client, method)(url("fact-change", launch, "slo", slo.pk), data).status_code == status
        assert getattr(client, method)(url("fact-add", launch, "slo"), data).status_code == status
    assert SLO.objects.get(pk=slo.pk).target == Decimal("3000")


def test_a_fact_of_another_launch_or_an_unknown_kind_is_not_found(owner, launch):
    other = ready_launch(slug="other", name="Other")
    foreign = other.slos.get(indicator="latency_p95")
    assert owner.get(url("fact-change", launch, "slo", foreign.pk)).status_code == 404
    assert owner.get(url("fact-add", launch, "user")).status_code == 404


def test_each_quality_bar_draws_its_latest_evidence_against_the_maximum(owner, launch):
    page = owner.get(url("launch", launch)).content.decode()
    assert '<svg class="chart evidence" role="img"' in page
    assert "measured 3 %" in page  # 30 failures in 1,000
    assert "one-sided 95 % bound 4.02 %" in page
    assert "maximum 5 %" in page
    assert 'class="bar-ready"' in page  # within the maximum


def test_the_chart_draws_the_run_that_counts_not_merely_the_latest(owner, launch):
    bar = launch.quality_bars.get()
    # A later run of a version not in service is recorded: it is not the evidence.
    EvalRunFactory(quality_bar=bar, samples=100, failures=20, measured_version="prompt-v8")
    page = owner.get(url("launch", launch)).content.decode()
    assert "the evaluation that counts, against the agreed maximum" in page
    assert "measured 3 %" in page and "measured 20 %" not in page
    # With a version in service that no run measured, the latest run is drawn, said not to count.
    Launch.objects.filter(pk=launch.pk).update(serving_version="prompt-v9")
    page = owner.get(url("launch", launch)).content.decode()
    assert "the latest evaluation, which does not count as evidence" in page
    assert "measured 20 %" in page


def test_data_assets_are_listed_by_class_the_most_sensitive_first(owner, launch):
    response = owner.get(url("launch", launch))
    section = next(s for s in response.context["fact_sections"] if s["name"] == "dataasset")
    assert [row["fact"].name for row in section["rows"]] == ["Support tickets", "Help-centre articles"]
