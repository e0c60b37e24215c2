"""Read paths of operations, each in a fixed number of queries however much a launch holds."""

from .failure_reviews import (  # noqa: F401
    RECENT_COUNTS,
    RECENT_REVIEWS,
    ChannelReviews,
    failure_reviews_of,
)
from .incidents import (  # noqa: F401
    Breach,
    BreachKind,
    IncidentReview,
    incident_breaches,
    incident_review,
    launch_incidents,
    launch_rollbacks,
    paged_people,
    postmortems_of,
    severity_pages,
)
from .slos import (  # noqa: F401
    ACTUALS_WINDOW_DAYS,
    CHART_DAYS,
    HUNDRED,
    SloStanding,
    load_recent_actuals,
    measured_indicator,
    meets,
    period,
    slo_standings,
    standing_of,
)
