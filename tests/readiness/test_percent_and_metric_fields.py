"""Shares are typed and shown in percent whatever the model stores, with errors in the reader's
words; a metric is typed as a name and its key derived."""

from decimal import Decimal

import pytest
from django.utils import translation

from readiness.formfields import MetricKeyField, PercentField, metric_key, percent_formfield
from readiness.models import QualityBar, RolloutStage


def failure_rate() -> PercentField:
    return percent_formfield(QualityBar._meta.get_field("max_failure_rate"))


def confidence() -> PercentField:
    return percent_formfield(QualityBar._meta.get_field("confidence_level"))


def share() -> PercentField:
    return percent_formfield(QualityBar._meta.get_field("min_human_reviewed_share"))


def exposure() -> PercentField:
    return percent_formfield(RolloutStage._meta.get_field("exposure_percent"))


def error_of(field, value) -> str:
    with pytest.raises(Exception) as raised:
        field.clean(value)
    return " ".join(raised.value.messages)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("5", Decimal("0.05")),
        ("0", Decimal("0")),
        ("2.5 %", Decimal("0.025")),
        ("0.125", Decimal("0.00125")),
        ("99.999", Decimal("0.99999")),
    ],
)
def test_a_failure_rate_is_typed_in_percent_and_stored_as_a_fraction(typed, stored):
    assert failure_rate().clean(typed) == stored


def test_a_failure_rate_is_shown_in_percent():
    assert failure_rate().prepare_value(Decimal("0.05000")) == "5"
    assert failure_rate().prepare_value(Decimal("0.00125")) == "0.125"
    assert confidence().prepare_value(Decimal("0.950")) == "95"
    assert exposure().prepare_value(Decimal("100.00")) == "100"


@pytest.mark.parametrize("typed", ["150", "-1", "100"])
def test_a_failure_rate_out_of_range_is_refused_in_percent_words(typed):
    assert error_of(failure_rate(), typed) == "Enter a percentage from 0 % up to, not including, 100 %."


@pytest.mark.parametrize("typed", ["abc", "nan", "inf", "5..5"])
def test_text_that_is_no_number_asks_for_a_number(typed):
    assert error_of(failure_rate(), typed) == "Enter a percentage as a number, e.g. 5 for 5 %."


def test_a_comma_decimal_is_refused_not_read_as_another_number():
    assert error_of(failure_rate(), "2,5") == "Use a point for decimals, e.g. 2.5 %."


def test_more_decimals_than_kept_are_refused_not_rounded():
    assert error_of(failure_rate(), "0.1255") == "Enter at most 3 decimal places, e.g. 2.5 %."
    assert error_of(confidence(), "99.55") == "Enter at most 1 decimal place, e.g. 2.5 %."


@pytest.mark.parametrize(("typed", "ok"), [("0", False), ("100", False), ("95", True), ("99.5", True), ("150", False)])
def test_a_confidence_lies_strictly_between_0_and_100_percent(typed, ok):
    if ok:
        assert confidence().clean(typed) == Decimal(typed) / 100
    else:
        assert error_of(confidence(), typed) == "Enter a percentage above 0 % and below 100 %."


@pytest.mark.parametrize(("typed", "ok"), [("0", True), ("100", True), ("10", True), ("-1", False), ("150", False)])
def test_a_human_reviewed_share_and_an_exposure_take_0_to_100_percent(typed, ok):
    for field, scale in ((share(), Decimal(100)), (exposure(), Decimal(1))):
        if ok:
            assert field.clean(typed) == Decimal(typed) / scale
        else:
            assert error_of(field, typed) == "Enter a percentage between 0 % and 100 %."


def test_an_empty_required_share_is_required():
    assert error_of(failure_rate(), "") == "This field is required."


def test_errors_speak_korean_to_a_korean_reader():
    with translation.override("ko"):
        assert error_of(failure_rate(), "150") == "0 % 이상 100 % 미만의 백분율을 입력하세요."
        assert error_of(share(), "abc") == "백분율을 숫자로 입력하세요. 예: 5 %이면 5."


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Wrong amounts", "wrong_amounts"),
        ("wrong_answers", "wrong_answers"),
        ("wrong-answers", "wrong-answers"),
        ("  PII leak (logs)! ", "pii_leak_logs"),
        ("Réponses fausses", "reponses_fausses"),
        ("오답", ""),
    ],
)
def test_a_metric_key_is_derived_from_its_name(name, key):
    assert metric_key(name) == key


def test_a_name_without_latin_letters_or_digits_is_refused_with_a_reason():
    assert error_of(MetricKeyField(), "오답 !!") == "Name the metric with Latin letters or digits, e.g. Wrong amounts."


def test_a_long_name_gives_a_key_that_fits_the_column():
    assert len(MetricKeyField(max_length=200).clean("x " * 90)) <= 80
