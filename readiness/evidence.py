"""Statistical evidence that a measured failure rate is within an agreed maximum."""

import math
from dataclasses import dataclass
from statistics import NormalDist


def wilson_upper_bound(failures: int, samples: int, confidence: float) -> float:
    """Upper end of the two-sided Wilson score interval for the failure proportion.

    With 100 samples and 3 failures the 95 % bound is about 8.5 %, so it does not prove a rate
    of at most 5 %; with 1,000 samples and 30 failures it is about 4.3 %, which does.
    """
    if samples <= 0:
        raise ValueError("samples must be positive")
    if not 0 <= failures <= samples:
        raise ValueError("failures must be between 0 and samples")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be strictly between 0 and 1")
    if failures == samples:
        return 1.0  # exact, where the formula would round to 0.9999999999999998
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = failures / samples
    z2 = z * z
    centre = p + z2 / (2 * samples)
    margin = z * math.sqrt(p * (1 - p) / samples + z2 / (4 * samples * samples))
    return min(1.0, (centre + margin) / (1 + z2 / samples))


@dataclass(frozen=True)
class Judgement:
    """What one evaluation run proves about one quality bar."""

    enough_samples: bool
    upper_bound: float
    within_maximum: bool

    @property
    def proves_bar(self) -> bool:
        return self.enough_samples and self.within_maximum


def judge(bar, run) -> Judgement:
    """The evidence rule, in one place for the checklist and the admin: the run has at least the
    bar's minimum samples and the Wilson upper bound at the bar's confidence is within its maximum."""
    upper = wilson_upper_bound(run.failures, run.samples, float(bar.confidence_level))
    return Judgement(run.samples >= bar.min_samples, upper, upper <= float(bar.max_failure_rate))
