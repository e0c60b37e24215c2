"""Every change to a launch's operating record, by a named person, in one transaction: incidents,
post-mortems and rollbacks executed (``incidents``), failure counts and reviews
(``failure_reviews``), SLI actuals and their Prometheus source (``sli``)."""

from .failure_reviews import failure_count_record, failure_review_record, review_action_complete
from .incidents import (
    action_item_complete,
    incident_acknowledge,
    incident_mitigate,
    incident_report,
    incident_resolve,
    incident_update,
    postmortem_record,
    record_rollback_execution,
)
from .sli import (
    RECORDING_ROLES,
    Measurement,
    ScheduledPull,
    launch_areas,
    may_configure_source,
    prometheus_source_set,
    recordable_indicators,
    sli_record,
    sli_record_pulled,
)

__all__ = [
    "RECORDING_ROLES",
    "Measurement",
    "ScheduledPull",
    "launch_areas",
    "may_configure_source",
    "prometheus_source_set",
    "recordable_indicators",
    "sli_record",
    "sli_record_pulled",
    "action_item_complete",
    "failure_count_record",
    "failure_review_record",
    "incident_acknowledge",
    "incident_mitigate",
    "incident_report",
    "incident_resolve",
    "incident_update",
    "postmortem_record",
    "record_rollback_execution",
    "review_action_complete",
]
