"""Statistical evidence that a measured failure rate is within an agreed maximum."""

import math
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist


def wilson_upper_bound(failures: int, samples: int, confidence: float) -> float:
    """One-sided Wilson score upper bound for the failure proportion at ``confidence``: the true
    rate lies below it with that confidence (z = the normal quantile at ``confidence``, 1.645 for
    95 %; the two-sided interval would use the 97.5 % quantile and claim 95 % on each side only).

    With 100 samples and 3 failures the 95 % bound is about 7.5 %, so it does not prove a rate of
    at most 5 %; with 1,000 samples and 30 failures it is about 4.1 %, which does.
    """
    if samples <= 0:
        raise ValueError("samples must be positive")
    if not 0 <= failures <= samples:
        raise ValueError("failures must be between 0 and samples")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be strictly between 0 and 1")
    if failures == samples:
        return 1.0  # exact, where the formula would round to 0.9999999999999998
    z = NormalDist().inv_cdf(confidence)
    p = failures / samples
    z2 = z * z
    centre = p + z2 / (2 * samples)
    margin = z * math.sqrt(p * (1 - p) / samples + z2 / (4 * samples * samples))
    return min(1.0, (centre + margin) / (1 + z2 / samples))


def failures_tolerated(samples: int, confidence: float, maximum: float) -> int | None:
    """The most failures in ``samples`` whose upper bound is still within ``maximum``; None when
    not even a run without failures is. The bound grows with the failures, so a binary search."""
    if wilson_upper_bound(0, samples, confidence) > maximum:
        return None
    low, high = 0, samples  # bound(low) is within the maximum; bound(samples) = 1 is not (maximum < 1)
    while high - low > 1:
        middle = (low + high) // 2
        if wilson_upper_bound(middle, samples, confidence) <= maximum:
            low = middle
        else:
            high = middle
    return low


def samples_needed_without_failures(confidence: float, maximum: float) -> int | None:
    """The fewest samples that prove ``maximum`` when none of them fails; None for a maximum of 0,
    which no finite evaluation proves. Without failures the bound is z² / (n + z²)."""
    if maximum <= 0:
        return None
    z2 = NormalDist().inv_cdf(confidence) ** 2
    needed = max(1, math.ceil(z2 * (1 - maximum) / maximum))
    # The closed form and the bound's floating-point arithmetic may disagree by one at the edge.
    while wilson_upper_bound(0, needed, confidence) > maximum:
        needed += 1
    while needed > 1 and wilson_upper_bound(0, needed - 1, confidence) <= maximum:
        needed -= 1
    return needed


@dataclass(frozen=True)
class Judgement:
    """What one evaluation run proves about one quality bar, on its numbers alone (whether the run
    still counts — its age, the version it measured — is the checklist's to say)."""

    enough_samples: bool
    enough_human_review: bool
    upper_bound: float
    within_maximum: bool

    @property
    def proves_bar(self) -> bool:
        return self.enough_samples and self.enough_human_review and self.within_maximum


def enough_human_review(bar, run) -> bool:
    """At least the bar's share of the run's samples was reviewed by a person (exact, in decimals)."""
    return Decimal(run.human_reviewed) >= bar.min_human_reviewed_share * run.samples


def judge(bar, run) -> Judgement:
    """The evidence rule, in one place for the checklist and the admin: the run has at least the
    bar's minimum samples and human-reviewed share, and the one-sided Wilson upper bound at the
    bar's confidence is within its maximum."""
    upper = wilson_upper_bound(run.failures, run.samples, float(bar.confidence_level))
    return Judgement(
        run.samples >= bar.min_samples,
        enough_human_review(bar, run),
        upper,
        upper <= float(bar.max_failure_rate),
    )
