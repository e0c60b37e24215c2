"""The Wilson upper bound that turns measured evaluation runs into evidence for a quality bar."""

import pytest

from readiness.evidence import wilson_upper_bound


def test_three_failures_in_a_hundred_samples_has_a_95_percent_upper_bound_of_about_8_5_percent():
    assert wilson_upper_bound(3, 100, 0.95) == pytest.approx(0.0845, abs=1e-3)


def test_thirty_failures_in_a_thousand_samples_has_a_95_percent_upper_bound_of_about_4_3_percent():
    assert wilson_upper_bound(30, 1000, 0.95) == pytest.approx(0.0425, abs=1e-3)


def test_more_samples_at_the_same_failure_rate_give_a_tighter_bound():
    assert wilson_upper_bound(30, 1000, 0.95) < wilson_upper_bound(3, 100, 0.95)


def test_a_higher_confidence_gives_a_wider_bound():
    assert wilson_upper_bound(3, 100, 0.99) > wilson_upper_bound(3, 100, 0.95) > wilson_upper_bound(3, 100, 0.9)


@pytest.mark.parametrize("samples", [1, 10, 100, 1000])
def test_zero_failures_still_give_a_positive_bound_below_one(samples):
    bound = wilson_upper_bound(0, samples, 0.95)
    assert 0 < bound < 1


def test_zero_failures_in_a_thousand_samples_bound_the_rate_below_half_a_percent():
    assert wilson_upper_bound(0, 1000, 0.95) == pytest.approx(0.0038, abs=1e-4)


@pytest.mark.parametrize("samples", [1, 5, 10, 100, 1000])
def test_every_sample_failing_gives_a_bound_of_exactly_one(samples):
    assert wilson_upper_bound(samples, samples, 0.95) == 1.0


@pytest.mark.parametrize(
    ("failures", "samples", "confidence", "message"),
    [
        (0, 0, 0.95, "samples must be positive"),
        (0, -5, 0.95, "samples must be positive"),
        (101, 100, 0.95, "failures must be between 0 and samples"),
        (-1, 100, 0.95, "failures must be between 0 and samples"),
        (3, 100, 0, "confidence must be strictly between 0 and 1"),
        (3, 100, 1, "confidence must be strictly between 0 and 1"),
        (3, 100, 1.5, "confidence must be strictly between 0 and 1"),
        (3, 100, -0.95, "confidence must be strictly between 0 and 1"),
    ],
)
def test_bad_input_is_refused_with_a_value_error(failures, samples, confidence, message):
    with pytest.raises(ValueError, match=message):
        wilson_upper_bound(failures, samples, confidence)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("samples", [6, 7, 8, 13, 20, 100, 1000])
def test_every_sample_failing_gives_a_bound_of_exactly_one_at_any_size_and_confidence(samples, confidence):
    assert wilson_upper_bound(samples, samples, confidence) == 1.0
