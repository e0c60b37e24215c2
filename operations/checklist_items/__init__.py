"""Checklist items read from what happened after launch: incidents (13, 14), the failure
reviews item 11 adds, and operating within SLOs (15). Importing this package registers them."""

from .failure_reviews import (  # noqa: F401
    CADENCE_DAYS,
    MISSED_AFTER_PERIODS,
    missed_reviews,
    review_due,
)
from .incidents import (  # noqa: F401
    INCIDENTS,
    has_postmortem,
    incidents_reviewed,
    incidents_with_postmortems,
    no_open_major_incident,
    postmortem_overdue,
)
from .slos import (  # noqa: F401
    breach_reasons,
    number,
    operating_within_slos,
)
