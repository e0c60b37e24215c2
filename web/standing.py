"""What the portfolio and the launch page say about a launch's next stage."""

from __future__ import annotations

from dataclasses import dataclass

from readiness.checklist import CheckResult, Readiness


@dataclass(frozen=True)
class Standing:
    """What a row of the portfolio says about a launch's next stage."""

    readiness: Readiness
    passed: int
    total: int
    blockers: list[CheckResult]

    @classmethod
    def of(cls, readiness: Readiness) -> Standing:
        return cls(readiness, readiness.passed, len(readiness.results), readiness.blockers)
