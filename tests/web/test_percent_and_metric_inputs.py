"""The fact forms as a person uses them: a quality bar's rates and a stage's exposure typed in
percent, a metric typed as a name; posted exactly as the rendered form submits them."""

import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from readiness.models import Launch, QualityBar, RolloutStage
from tests.helpers import rendered_form

pytestmark = pytest.mark.django_db


def submit(client, url: str, **typed) -> tuple:
    """Open the form, type ``typed`` into it and press Save: the response and what was posted."""
    values = rendered_form(client.get(url).content.decode())
    values.update(typed)
    return client.post(url, urlencode(values), content_type="application/x-www-form-urlencoded"), values


@pytest.fixture
def owner(client, launch):
    client.force_login(launch.owner)
    return client


def fact_url(launch: Launch, kind: str, pk: int | None = None) -> str:
    if pk is None:
        return reverse("web:fact-add", args=[launch.slug, kind])
    return reverse("web:fact-change", args=[launch.slug, kind, pk])


def test_the_bar_form_shows_its_rates_in_percent(owner, launch):
    bar = launch.quality_bars.get()
    shown = rendered_form(owner.get(fact_url(launch, "qualitybar", bar.pk)).content.decode())
    assert shown["max_failure_rate"] == "5"
    assert shown["confidence_level"] == "95"
    assert shown["metric"] == bar.metric


def test_a_failure_rate_typed_in_percent_is_stored_as_its_fraction(owner, launch):
    bar = launch.quality_bars.get()
    response, _sent = submit(owner, fact_url(launch, "qualitybar", bar.pk), max_failure_rate="2.5")
    assert response.status_code == 302
    bar.refresh_from_db()
    assert bar.max_failure_rate == Decimal("0.025")
    page = owner.get(reverse("web:launch", args=[launch.slug])).content.decode()
    assert "2.5 %" in page
    assert "0.02500" not in page


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("150", "Enter a percentage from 0 % up to, not including, 100 %."),
        ("-1", "Enter a percentage from 0 % up to, not including, 100 %."),
        ("100", "Enter a percentage from 0 % up to, not including, 100 %."),
        ("abc", "Enter a percentage as a number, e.g. 5 for 5 %."),
        ("2,5", "Use a point for decimals, e.g. 2.5 %."),
    ],
)
def test_a_failure_rate_out_of_range_or_not_a_number_is_refused_in_percent(owner, launch, typed, error):
    bar = launch.quality_bars.get()
    response, _sent = submit(owner, fact_url(launch, "qualitybar", bar.pk), max_failure_rate=typed)
    assert response.status_code == 200
    assert response.context["form"].errors["max_failure_rate"] == [error]
    assert "digit" not in response.content.decode()
    assert QualityBar.objects.get(pk=bar.pk).max_failure_rate == Decimal("0.05")


def test_a_zero_failure_rate_is_a_bar_too(owner, launch):
    bar = launch.quality_bars.get()
    response, _sent = submit(owner, fact_url(launch, "qualitybar", bar.pk), max_failure_rate="0")
    assert response.status_code == 302
    assert QualityBar.objects.get(pk=bar.pk).max_failure_rate == 0


def test_the_korean_form_answers_in_korean(owner, launch):
    bar = launch.quality_bars.get()
    owner.cookies["django_language"] = "ko"
    response, _sent = submit(owner, fact_url(launch, "qualitybar", bar.pk), max_failure_rate="150")
    assert "0 % 이상 100 % 미만의 백분율을 입력하세요." in response.content.decode()


def test_a_metric_typed_as_a_name_gets_its_key(owner, launch):
    response, _sent = submit(
        owner,
        fact_url(launch, "qualitybar"),
        metric="Wrong amounts",
        failure_definition="An amount that differs from the invoice.",
        max_failure_rate="1",
        confidence_level="95",
        min_samples="200",
        min_human_reviewed_share="10",
    )
    assert response.status_code == 302
    bar = launch.quality_bars.get(metric="wrong_amounts")
    assert (bar.max_failure_rate, bar.confidence_level, bar.min_human_reviewed_share) == (
        Decimal("0.01"),
        Decimal("0.95"),
        Decimal("0.1"),
    )


def test_a_metric_whose_key_the_launch_already_has_is_refused_by_name(owner, launch):
    existing = launch.quality_bars.get()
    name = existing.metric.replace("_", " ").title()  # "Wrong Answers" derives the same key
    response, _sent = submit(
        owner,
        fact_url(launch, "qualitybar"),
        metric=name,
        failure_definition="Again.",
        max_failure_rate="5",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["metric"] == [
        f"This launch already has a quality bar for “{existing.metric}”; name this metric differently."
    ]
    assert launch.quality_bars.count() == 1


def test_renaming_a_bar_to_its_own_key_is_no_clash(owner, launch):
    bar = launch.quality_bars.get()
    response, _sent = submit(owner, fact_url(launch, "qualitybar", bar.pk), metric=bar.metric.replace("_", " "))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("typed", "saved"), [("150", False), ("-1", False), ("abc", False), ("0", True), ("100", False)]
)
def test_a_stage_exposure_is_typed_in_percent(owner, launch, typed, saved):
    """0 % is a stage nobody sees yet; 100 % is only for Full, which the model refuses in its own words."""
    stage = launch.stages.order_by("order").first()
    before = stage.exposure_percent
    response, _sent = submit(owner, fact_url(launch, "rolloutstage", stage.pk), exposure_percent=typed)
    after = RolloutStage.objects.get(pk=stage.pk).exposure_percent
    if saved:
        assert response.status_code == 302 and after == Decimal(typed)
    else:
        assert response.status_code == 200 and after == before
        assert "digit" not in response.content.decode()
        errors = response.context["form"].errors["exposure_percent"]
        if typed in ("150", "-1"):
            assert errors == ["Enter a percentage between 0 % and 100 %."]
        elif typed == "100":  # a 500 before: the model's error named the stage's kind, not on this form
            assert errors == ["A stage exposing every user (100 %) is a Full stage, gated and signed off as one."]


def test_the_launch_page_shows_rates_and_exposures_in_percent(owner, launch):
    """Every share reads in percent: a bar's fractions, a rate SLO's target, a stage's exposure;
    a latency target keeps its own unit."""
    page = owner.get(reverse("web:launch", args=[launch.slug])).content.decode()
    success = launch.slos.get(indicator="success_rate")
    assert f'<span class="muted">target:</span> {success.target.normalize():f} %' in page
    assert '<span class="muted">max failure rate:</span> 5 %' in page
    assert '<span class="muted">confidence level:</span> 95 %' in page
    assert re.search(r"target:</span> 3,?000(\.000)?</span>", page)  # p95 latency, in ms: no %
    assert "0.05000" not in page and "0.950" not in page
