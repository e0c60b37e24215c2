"""What the ledger records: one enum of every event any app appends, so no event is a bare string.

Every writer imports ``LedgerEvent`` from here, and ``ledger.chain.append`` refuses anything else.
This module imports nothing from any project app, only Django: it is the one module of ``ledger``
that ``readiness`` (below the ledger, which it writes to through the port ``readiness.recording``)
may import, as that port's vocabulary. The import-direction check allows exactly this exception."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LedgerEvent(models.TextChoices):
    REQUESTED = "requested", _("Sign-off requested")
    DECIDED = "decided", _("Sign-off decided")
    WITHDRAWN = "withdrawn", _("Sign-off withdrawn")
    DELEGATED = "delegated", _("Sign-off delegated")
    # A comment, question or reply in a sign-off's conversation (approvals.services.conversation).
    SIGNOFF_MESSAGE = "signoff_message", _("Message on a sign-off")
    ACKNOWLEDGED = "acknowledged", _("Consultation acknowledged")
    STAGE_ADVANCED = "stage_advanced", _("Stage advanced")
    STAGE_ROLLED_BACK = "stage_rolled_back", _("Stage rolled back")
    WAIVER_REQUESTED = "waiver_requested", _("Waiver requested")
    WAIVER_DECIDED = "waiver_decided", _("Waiver decided")
    POLICY_CHANGED = "policy_changed", _("Sign-off policy changed")
    POLICY_CHANGE_REQUESTED = "policy_change_req", _("Lowering the sign-off bar requested")
    POLICY_CHANGE_DECIDED = "policy_change_dec", _("Lowering the sign-off bar decided")
    RISK_TIER_CHANGED = "risk_tier_changed", _("Risk tier changed")
    # Facts agreed or redefined through readiness and raci services (readiness.recording).
    BAR_AGREED = "bar_agreed", _("Quality bar agreed")
    BAR_REDEFINED = "bar_redefined", _("Quality bar redefined; agreement cleared")
    SLO_AGREED = "slo_agreed", _("SLO target and alert agreed")
    SLO_REDEFINED = "slo_redefined", _("SLO target or alert changed; agreement cleared")
    AREA_OMITTED = "area_omitted", _("Standard area left out, with the reason")
    OMISSION_WITHDRAWN = "omission_withdrawn", _("Reason for leaving out a standard area withdrawn")
    DATA_DECLASSIFIED = "data_declassified", _("Personal or confidential data declassified or removed")
    # An evaluation run that needed acceptance was accepted as evidence (raci.services.eval_run_accept).
    EVAL_RUN_ACCEPTED = "eval_run_accepted", _("Evaluation run accepted as evidence")
    # Incidents, which "Incidents reviewed" and "No open P0 or P1 incident" read (operations).
    INCIDENT_RECORDED = "incident_recorded", _("Incident recorded")
    INCIDENT_CHANGED = "incident_changed", _("Incident changed")
    # Its severity changed: lowering needs the area's Accountable or an executive (operations).
    INCIDENT_SEVERITY_CHANGED = "incident_severity", _("Incident severity changed")
    POSTMORTEM_RECORDED = "postmortem_recorded", _("Post-mortem recorded")
    # Daily SLI values recorded or replaced (operations): item 15 reads them to gate the next stage.
    SLI_RECORDED = "sli_recorded", _("SLI actuals recorded")
    # A failure review held (operations): item 11 reads when each channel was last reviewed.
    FAILURE_REVIEW_RECORDED = "failure_review", _("Failure review recorded")
    # The model/prompt version in service changed (readiness.services.launch_change).
    VERSION_CHANGED = "version_changed", _("Serving version changed")
    # The daily recertification (approvals.recertification): the stage a launch is in stopped
    # holding, or holds again.
    STAGE_LAPSED = "stage_lapsed", _("Stage no longer holds")
    STAGE_RESTORED = "stage_restored", _("Stage holds again")
    # A row the gate reads written or deleted through readiness.history (readiness.recording's sealed
    # facts: stages, bars, runs, data assets, SLOs, RACI, teams and their members, ...).
    FACT_RECORDED = "fact_recorded", _("Facts recorded")
