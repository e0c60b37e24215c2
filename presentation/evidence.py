"""Which evaluation run stands as a quality bar's evidence, and what it shows."""

from __future__ import annotations

from dataclasses import dataclass

from readiness.checklist import Context
from readiness.checklist_items import counted_run
from readiness.evidence import judge
from readiness.models import EvalRun, QualityBar


@dataclass(frozen=True)
class BarEvidence:
    """A bar's evidence: the run that counts (item 12's choice), or else the latest recorded run,
    which proves nothing (``counts`` is False); its measured failure rate, the one-sided upper bound
    at the bar's confidence and the agreed maximum, as fractions."""

    bar: QualityBar
    run: EvalRun
    counts: bool
    observed: float
    upper: float
    maximum: float

    @property
    def within(self) -> bool:
        """The bound is within the maximum: the evidence shows the bar is met."""
        return self.upper <= self.maximum

    @property
    def confidence(self) -> str:
        """The bar's confidence level in percent, as written in labels ("95", "99.5")."""
        return f"{float(self.bar.confidence_level) * 100:g}"


def bar_evidence(bar: QualityBar, context: Context) -> BarEvidence | None:
    """``bar``'s evidence as the checklist judges it in ``context`` (read from the prefetched
    runs); None when no run with samples was recorded."""
    run = counted_run(bar, context.launch, context)
    counts = run is not None
    run = run or bar.latest_eval_run()
    if run is None or not run.samples:
        return None
    return BarEvidence(
        bar=bar,
        run=run,
        counts=counts,
        observed=run.failures / run.samples,
        upper=judge(bar, run).upper_bound,
        maximum=float(bar.max_failure_rate),
    )
