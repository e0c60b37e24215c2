"""The one-sided Wilson upper bound that turns measured evaluation runs into evidence for a quality
bar, and what it allows at a given sample size."""

from statistics import NormalDist

import pytest

from readiness.evidence import failures_tolerated, samples_needed_without_failures, wilson_upper_bound

# Reference values from two independent implementations, which agree to 1e-16:
# statsmodels 0.15.0, ``proportion_confint(failures, samples, alpha=2 * (1 - confidence),
# method="wilson")[1]`` (the upper end of the two-sided interval at 1 - 2(1 - c) is the one-sided
# bound at c), and the Wilson formula evaluated in mpmath 1.4.1 at 50 significant digits with
# z = sqrt(2) * erfinv(2c - 1).
ONE_SIDED_REFERENCE = [
    (3, 100, 0.95, 0.07271034328690396),
    (30, 1000, 0.95, 0.0402195509983589),
    (0, 1000, 0.95, 0.0026982432397605217),
    (0, 100, 0.95, 0.026342720783174324),
    (0, 1, 0.95, 0.7301340512159458),
    (1, 10, 0.95, 0.34771866733585843),
    (30, 1000, 0.99, 0.045298563821861745),
    (3, 100, 0.9, 0.06057015167513993),
    (24, 1200, 0.95, 0.02780712005381583),
    (10, 500, 0.95, 0.033173912785839824),
    (37, 1000, 0.95, 0.04813370981688009),
    (38, 1000, 0.95, 0.049256131945473285),
    (500, 1000, 0.975, 0.5309303996318958),
]


@pytest.mark.parametrize(("failures", "samples", "confidence", "reference"), ONE_SIDED_REFERENCE)
def test_the_bound_is_the_one_sided_wilson_upper_bound_at_the_stated_confidence(
    failures, samples, confidence, reference
):
    assert wilson_upper_bound(failures, samples, confidence) == pytest.approx(reference, abs=1e-9)


def test_95_percent_means_z_of_about_1_645_not_the_two_sided_1_96():
    # The two-sided 95 % interval's upper end (z = 1.96) was what the bound used to be: 8.45 %.
    assert NormalDist().inv_cdf(0.95) == pytest.approx(1.6448536269514722, abs=1e-12)
    assert wilson_upper_bound(3, 100, 0.95) == pytest.approx(0.07271034328690396, abs=1e-9)
    assert wilson_upper_bound(3, 100, 0.975) == pytest.approx(0.0845, abs=1e-4)


def test_more_samples_at_the_same_failure_rate_give_a_tighter_bound():
    assert wilson_upper_bound(30, 1000, 0.95) < wilson_upper_bound(3, 100, 0.95)


def test_a_higher_confidence_gives_a_wider_bound():
    assert wilson_upper_bound(3, 100, 0.99) > wilson_upper_bound(3, 100, 0.95) > wilson_upper_bound(3, 100, 0.9)


@pytest.mark.parametrize("samples", [1, 10, 100, 1000])
def test_zero_failures_still_give_a_positive_bound_below_one(samples):
    bound = wilson_upper_bound(0, samples, 0.95)
    assert 0 < bound < 1


def test_zero_failures_in_a_thousand_samples_bound_the_rate_below_three_in_a_thousand():
    assert wilson_upper_bound(0, 1000, 0.95) == pytest.approx(0.0026982432397605217, abs=1e-9)


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


# What a sample size allows. Reference counts: the largest k whose bound, computed in mpmath at 50
# digits, is within the maximum, found by trying every k from 0 up.


@pytest.mark.parametrize(
    ("samples", "confidence", "maximum", "reference"),
    [
        (1000, 0.95, 0.05, 38),
        (100, 0.95, 0.05, 1),
        (1000, 0.99, 0.045, 29),
        (1200, 0.95, 0.05, 47),
        (150, 0.95, 0.05, 3),
        (400, 0.95, 0.02, 3),
        (500, 0.95, 0.01, 1),
        (2000, 0.95, 0.05, 83),
    ],
)
def test_failures_tolerated_is_the_most_failures_whose_bound_stays_within_the_maximum(
    samples, confidence, maximum, reference
):
    tolerated = failures_tolerated(samples, confidence, maximum)
    assert tolerated == reference
    assert wilson_upper_bound(tolerated, samples, confidence) <= maximum
    assert wilson_upper_bound(tolerated + 1, samples, confidence) > maximum


@pytest.mark.parametrize(("samples", "maximum"), [(50, 0.05), (100, 0.01), (1, 0.5), (1000, 0.0)])
def test_no_failure_count_is_tolerated_when_even_a_flawless_run_is_too_small(samples, maximum):
    assert failures_tolerated(samples, 0.95, maximum) is None


@pytest.mark.parametrize(
    ("confidence", "maximum", "reference"),
    [(0.95, 0.05, 52), (0.95, 0.01, 268), (0.99, 0.045, 115), (0.95, 0.02, 133)],
)
def test_samples_needed_without_failures_is_the_smallest_run_that_proves_the_maximum(confidence, maximum, reference):
    needed = samples_needed_without_failures(confidence, maximum)
    assert needed == reference
    assert wilson_upper_bound(0, needed, confidence) <= maximum < wilson_upper_bound(0, needed - 1, confidence)


def test_no_evaluation_proves_a_maximum_of_zero():
    assert samples_needed_without_failures(0.95, 0.0) is None
